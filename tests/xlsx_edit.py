"""Test helper: edit an xlsx file the way a person or a mail client would.

Every function rewrites parts of the zip package in place and leaves the
content of every other part as it was; nothing goes through openpyxl (which
would blank every cached value). No function recalculates: a changed input
leaves the cached results of the formulas stale, as a preview shows them.

Cells are A1 references ("D11"); sheets are titles ("Inputs"). The XML is
edited as text, which is enough for files written by XlsxWriter (one ``<c>``
element a cell, the ``r`` attribute first, no shared formulas).
"""

from __future__ import annotations

import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape, unescape

# A cell reference in a formula, optionally with its sheet, optionally a range.
_REF = re.compile(
    r"(?<![A-Za-z0-9_.$])"
    r"(?:(?P<sheet>'(?:[^']|'')+'|[A-Za-z_][A-Za-z0-9_.]*)!)?"
    r"(?P<c1>\$?[A-Z]{1,3})(?P<r1>\$?)(?P<n1>[0-9]+)"
    r"(?::(?P<c2>\$?[A-Z]{1,3})(?P<r2>\$?)(?P<n2>[0-9]+))?"
    r"(?![A-Za-z0-9_(!])"
)
_STRING = re.compile(r'("(?:[^"]|"")*")')


# ---------------------------------------------------------------------------
# Reading


def sheet_part(path: Path, sheet: str) -> str:
    """The zip member holding worksheet ``sheet``, e.g. 'xl/worksheets/sheet2.xml'."""
    with zipfile.ZipFile(path) as package:
        return _sheet_part(package, sheet)


def cell_xml(path: Path, sheet: str, cell: str) -> str:
    """The ``<c>`` element of ``sheet``!``cell`` as text."""
    with zipfile.ZipFile(path) as package:
        text = package.read(_sheet_part(package, sheet)).decode("utf-8")
    match = _cell_pattern(cell).search(text)
    if match is None:
        raise KeyError(f"{sheet}!{cell}: no such cell in the sheet XML")
    return match.group(0)


def cached_value(path: Path, sheet: str, cell: str) -> float:
    """The stored (cached) number of ``sheet``!``cell``."""
    match = re.search(r"<v>([^<]*)</v>", cell_xml(path, sheet, cell))
    if match is None:
        raise KeyError(f"{sheet}!{cell}: holds no value")
    return float(match.group(1))


def formula(path: Path, sheet: str, cell: str) -> str:
    """The formula of ``sheet``!``cell`` without '='."""
    match = re.search(r"<f>([^<]*)</f>", cell_xml(path, sheet, cell))
    if match is None:
        raise KeyError(f"{sheet}!{cell}: holds no formula")
    return unescape(match.group(1))


def cell_with_formula(path: Path, sheet: str, part_of_formula: str) -> str:
    """The first cell of ``sheet`` whose formula contains ``part_of_formula``."""
    with zipfile.ZipFile(path) as package:
        text = package.read(_sheet_part(package, sheet)).decode("utf-8")
    for match in re.finditer(r'<c r="([A-Z]+[0-9]+)"[^>]*><f>([^<]*)</f>', text):
        if part_of_formula in unescape(match.group(2)):
            return match.group(1)
    raise KeyError(f"no formula on {sheet} contains {part_of_formula!r}")


def defined_name(path: Path, name: str) -> tuple[str, str]:
    """(sheet, cell) that defined name ``name`` points to, '$' removed."""
    with zipfile.ZipFile(path) as package:
        text = package.read("xl/workbook.xml").decode("utf-8")
    match = re.search(rf'<definedName name="{re.escape(name)}"[^>]*>([^<]*)<', text)
    if match is None:
        raise KeyError(f"no defined name {name}")
    sheet, cell = unescape(match.group(1)).replace("$", "").rsplit("!", 1)
    return sheet.strip("'"), cell


# ---------------------------------------------------------------------------
# Editing


def set_cell_value(path: Path, sheet: str, cell: str, value: float) -> None:
    """Store number ``value`` in ``sheet``!``cell``, keeping any formula.

    On an input cell this is an edit whose dependants are not recalculated;
    on a formula cell it makes the cached result stale.
    """

    def edit(element: str) -> str:
        element = _drop_type(element)
        open_tag, body = _split(element)
        body = re.sub(r"<v>[^<]*</v>", "", body) + f"<v>{_number(value)}</v>"
        return f"{open_tag}>{body}</c>"

    _edit_cell(path, sheet, cell, edit)


def set_formula(path: Path, sheet: str, cell: str, text: str) -> None:
    """Replace the formula of ``sheet``!``cell`` with ``text`` (no '=').

    The cached result is kept, as a file edited without recalculation has it.
    """

    def edit(element: str) -> str:
        open_tag, body = _split(element)
        if "<f>" not in body:
            raise KeyError(f"{sheet}!{cell}: holds no formula")
        body = re.sub(r"<f>[^<]*</f>", lambda _: f"<f>{escape(text)}</f>", body)
        return f"{open_tag}>{body}</c>"

    _edit_cell(path, sheet, cell, edit)


def replace_formula_with_value(
    path: Path, sheet: str, cell: str, value: float | None = None
) -> None:
    """Type a number over the formula of ``sheet``!``cell``.

    ``value`` None types the formula's own cached result, which no preview
    can tell apart from the formula.
    """

    def edit(element: str) -> str:
        open_tag, body = _split(element)
        if "<f>" not in body:
            raise KeyError(f"{sheet}!{cell}: holds no formula")
        number = value
        if number is None:
            number = float(re.search(r"<v>([^<]*)</v>", body).group(1))
        return f"{_drop_type(open_tag)}><v>{_number(number)}</v></c>"

    _edit_cell(path, sheet, cell, edit)


def clear_cell(path: Path, sheet: str, cell: str) -> None:
    """Empty ``sheet``!``cell`` (keeping its style), as the Delete key does."""

    def edit(element: str) -> str:
        open_tag, _ = _split(element)
        return f"{_drop_type(open_tag)}/>"

    _edit_cell(path, sheet, cell, edit)


def set_defined_name(path: Path, name: str, ref: str) -> None:
    """Point defined name ``name`` at ``ref`` (e.g. "Inputs!$C$11")."""

    def edit(parts: dict[str, bytes]) -> None:
        text = parts["xl/workbook.xml"].decode("utf-8")
        pattern = re.compile(rf'(<definedName name="{re.escape(name)}"[^>]*>)[^<]*(<)')
        text, count = pattern.subn(
            lambda m: m.group(1) + escape(ref) + m.group(2), text
        )
        if count != 1:
            raise KeyError(f"no defined name {name}")
        parts["xl/workbook.xml"] = text.encode("utf-8")

    _rewrite(path, edit)


def add_row(path: Path, sheet: str, cells: dict[str, float | str]) -> None:
    """Add a row below every row of ``sheet`` holding ``cells`` ({"A18": "x"})."""

    def edit(parts: dict[str, bytes]) -> None:
        part = _part_of(parts, sheet)
        text = parts[part].decode("utf-8")
        row = int(re.search(r"[0-9]+", next(iter(cells))).group(0))
        last = max(int(n) for n in re.findall(r'<row r="([0-9]+)"', text))
        assert row > last, f"row {row} is not below row {last}"
        body = ""
        for ref, value in cells.items():
            if isinstance(value, str):
                body += (
                    f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
                )
            else:
                body += f'<c r="{ref}"><v>{_number(value)}</v></c>'
        text = text.replace("</sheetData>", f'<row r="{row}">{body}</row></sheetData>')
        parts[part] = text.encode("utf-8")

    _rewrite(path, edit)


def set_number_format(path: Path, sheet: str, cell: str, code: str) -> None:
    """Give ``sheet``!``cell`` a copy of its style with number format ``code``."""

    def edit(parts: dict[str, bytes]) -> None:
        part = _part_of(parts, sheet)
        text = parts[part].decode("utf-8")
        element = _cell_pattern(cell).search(text)
        if element is None:
            raise KeyError(f"{sheet}!{cell}: no such cell in the sheet XML")
        style = re.search(r'\ss="([0-9]+)"', element.group(0))
        styles = parts["xl/styles.xml"].decode("utf-8")
        ids = [int(n) for n in re.findall(r'numFmtId="([0-9]+)"', styles)]
        number = max([163, *ids]) + 1
        quoted = escape(code, {'"': "&quot;"})
        fmt = f'<numFmt numFmtId="{number}" formatCode="{quoted}"/>'
        if "<numFmts" in styles:
            styles = re.sub(
                r"(<numFmts[^>]*>)", lambda m: m.group(1) + fmt, styles, count=1
            )
        else:
            styles = styles.replace("<fonts", f"<numFmts>{fmt}</numFmts><fonts", 1)
        xfs = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", styles, re.S)
        xf = re.findall(r"<xf [^>]*?(?:/>|>.*?</xf>)", xfs.group(1), re.S)
        copy = xf[int(style.group(1)) if style else 0]
        copy = re.sub(r'numFmtId="[0-9]+"', f'numFmtId="{number}"', copy, count=1)
        if "applyNumberFormat" not in copy:
            copy = copy.replace("<xf ", '<xf applyNumberFormat="1" ', 1)
        styles = styles.replace("</cellXfs>", copy + "</cellXfs>", 1)
        parts["xl/styles.xml"] = styles.encode("utf-8")
        head = element.group(0)
        if style:
            new = head.replace(style.group(0), f' s="{len(xf)}"', 1)
        else:
            new = head.replace(f'<c r="{cell}"', f'<c r="{cell}" s="{len(xf)}"', 1)
        parts[part] = (text[: element.start()] + new + text[element.end() :]).encode(
            "utf-8"
        )

    _rewrite(path, edit)


def add_defined_name(
    path: Path, name: str, ref: str, sheet: str | None = None, first: bool = True
) -> None:
    """Add defined name ``name`` -> ``ref``, as a crafted file could hold it.

    ``sheet`` makes it a sheet-level name of that sheet (``localSheetId``);
    ``first`` puts it before every other name (spreadsheets read the first
    of a repeated name), else after them.
    """

    def edit(parts: dict[str, bytes]) -> None:
        text = parts["xl/workbook.xml"].decode("utf-8")
        scope = ""
        if sheet is not None:
            scope = f' localSheetId="{list(_titles(parts)).index(sheet)}"'
        element = (
            f'<definedName name="{escape(name)}"{scope}>{escape(ref)}</definedName>'
        )
        if first:
            text = text.replace("<definedNames>", "<definedNames>" + element, 1)
        else:
            text = text.replace("</definedNames>", element + "</definedNames>", 1)
        parts["xl/workbook.xml"] = text.encode("utf-8")

    _rewrite(path, edit)


def set_cell_text(path: Path, sheet: str, cell: str, text: str) -> None:
    """Type text ``text`` into ``sheet``!``cell`` (keeping its style)."""

    def edit(element: str) -> str:
        open_tag, _ = _split(element)
        open_tag = _drop_type(open_tag)
        return f'{open_tag} t="inlineStr"><is><t>{escape(text)}</t></is></c>'

    _edit_cell(path, sheet, cell, edit)


def drop_cached_value(path: Path, sheet: str, cell: str) -> None:
    """Remove the cached result of the formula in ``sheet``!``cell``."""

    def edit(element: str) -> str:
        open_tag, body = _split(element)
        if "<f>" not in body:
            raise KeyError(f"{sheet}!{cell}: holds no formula")
        return f"{_drop_type(open_tag)}>{re.sub(r'<v>[^<]*</v>', '', body)}</c>"

    _edit_cell(path, sheet, cell, edit)


def set_chart_reference(path: Path, old: str, new: str) -> None:
    """Make the first chart series reference ``old`` read ``new`` instead."""

    def edit(parts: dict[str, bytes]) -> None:
        for part in sorted(parts):
            if not re.fullmatch(r"xl/charts/chart[0-9]+\.xml", part):
                continue
            text = parts[part].decode("utf-8")
            target = f"<c:f>{escape(old)}</c:f>"
            if target in text:
                parts[part] = text.replace(
                    target, f"<c:f>{escape(new)}</c:f>", 1
                ).encode("utf-8")
                return
        raise KeyError(f"no chart reads {old}")

    _rewrite(path, edit)


def rename_sheet(path: Path, old: str, new: str) -> None:
    """Rename sheet ``old`` to ``new`` as a spreadsheet does: the sheet's
    entry in the workbook and every reference to it, in cell formulas,
    defined names and chart series. ``old`` needs no quotes in a formula."""
    quoted = (
        new
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", new)
        else ("'" + new.replace("'", "''") + "'")
    )
    reference = re.compile(rf"(?<![A-Za-z0-9_.'])({re.escape(old)})!")

    def edit(parts: dict[str, bytes]) -> None:
        for part in sorted(parts):
            if not part.endswith(".xml"):
                continue
            text = parts[part].decode("utf-8")
            if part == "xl/workbook.xml":
                text = text.replace(
                    f'<sheet name="{escape(old)}"', f'<sheet name="{escape(new)}"'
                )
            text = reference.sub(escape(quoted) + "!", text)
            parts[part] = text.encode("utf-8")

    _rewrite(path, edit)


def delete_row(path: Path, sheet: str, row: int) -> None:
    """Delete row ``row`` (1-based) of ``sheet`` as a spreadsheet does.

    The rows below move up one; every reference to them, in any sheet's
    formulas, the defined names, validations, conditional formats and
    charts, moves with them; a reference to the deleted row becomes #REF!.
    """

    def edit(parts: dict[str, bytes]) -> None:
        target = _part_of(parts, sheet)
        titles = _titles(parts)
        for title, part in titles.items():
            text = parts[part].decode("utf-8")
            if part == target:
                text = _delete_row_cells(text, row)
            text = re.sub(
                r"<f>([^<]*)</f>",
                lambda m, t=title: (
                    "<f>"
                    + escape(_shift_formula(unescape(m.group(1)), sheet, row, t))
                    + "</f>"
                ),
                text,
            )
            parts[part] = text.encode("utf-8")
        book = parts["xl/workbook.xml"].decode("utf-8")
        book = re.sub(
            r"(<definedName [^>]*>)([^<]*)(<)",
            lambda m: (
                m.group(1)
                + escape(_shift_formula(unescape(m.group(2)), sheet, row, None))
                + m.group(3)
            ),
            book,
        )
        parts["xl/workbook.xml"] = book.encode("utf-8")
        for part in parts:
            if part.startswith("xl/charts/chart") and part.endswith(".xml"):
                text = parts[part].decode("utf-8")
                text = re.sub(
                    r"(<c:f>)([^<]*)(</c:f>)",
                    lambda m: (
                        m.group(1)
                        + escape(_shift_formula(unescape(m.group(2)), sheet, row, None))
                        + m.group(3)
                    ),
                    text,
                )
                parts[part] = text.encode("utf-8")

    _rewrite(path, edit)


def add_sheet(path: Path, title: str, cells: dict[str, float | str]) -> None:
    """Append worksheet ``title`` holding ``cells`` ({"A1": 2, "B1": "=A1*2"}).

    A string starting with '=' is a formula (no cached value), as a user's
    own working sheet would hold.
    """

    def edit(parts: dict[str, bytes]) -> None:
        number = 1
        while f"xl/worksheets/sheet{number}.xml" in parts:
            number += 1
        part = f"xl/worksheets/sheet{number}.xml"
        rows: dict[int, list[str]] = {}
        for ref, value in cells.items():
            row = int(re.search(r"[0-9]+", ref).group(0))
            if isinstance(value, str) and value.startswith("="):
                body = f'<c r="{ref}"><f>{escape(value[1:])}</f></c>'
            elif isinstance(value, str):
                body = f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
            else:
                body = f'<c r="{ref}"><v>{_number(value)}</v></c>'
            rows.setdefault(row, []).append(body)
        data = "".join(
            f'<row r="{row}">{"".join(rows[row])}</row>' for row in sorted(rows)
        )
        parts[part] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
            'main"><sheetData>' + data + "</sheetData></worksheet>"
        ).encode("utf-8")
        rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
        rid = "rIdUser1"
        rels = rels.replace(
            "</Relationships>",
            f'<Relationship Id="{rid}" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/worksheet" '
            f'Target="worksheets/sheet{number}.xml"/></Relationships>',
        )
        parts["xl/_rels/workbook.xml.rels"] = rels.encode("utf-8")
        book = parts["xl/workbook.xml"].decode("utf-8")
        ids = [int(i) for i in re.findall(r'sheetId="([0-9]+)"', book)]
        book = book.replace(
            "</sheets>",
            f'<sheet name="{escape(title)}" sheetId="{max(ids) + 1}" '
            f'r:id="{rid}"/></sheets>',
        )
        parts["xl/workbook.xml"] = book.encode("utf-8")
        types = parts["[Content_Types].xml"].decode("utf-8")
        types = types.replace(
            "</Types>",
            f'<Override PartName="/{part}" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        )
        parts["[Content_Types].xml"] = types.encode("utf-8")

    _rewrite(path, edit, added=True)


# ---------------------------------------------------------------------------
# Internals


def _cell_pattern(cell: str) -> re.Pattern[str]:
    return re.compile(rf'<c r="{cell}"(?:\s[^>]*?)?(?:/>|>.*?</c>)', re.S)


def _split(element: str) -> tuple[str, str]:
    """'<c r=.. s=..>body</c>' -> ('<c r=.. s=..', 'body'); self-closing: body ''."""
    if element.endswith("/>") and "</c>" not in element:
        return element[:-2].rstrip(), ""
    head, _, rest = element.partition(">")
    return head, rest[: -len("</c>")]


def _drop_type(element: str) -> str:
    """Remove the t="..." attribute (shared string, str, bool): a number follows."""
    return re.sub(r'\st="[^"]*"', "", element, count=1)


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


def _edit_cell(path: Path, sheet: str, cell: str, edit: Callable[[str], str]) -> None:
    def change(parts: dict[str, bytes]) -> None:
        part = _part_of(parts, sheet)
        text = parts[part].decode("utf-8")
        text, count = _cell_pattern(cell).subn(lambda m: edit(m.group(0)), text, 1)
        if count != 1:
            raise KeyError(f"{sheet}!{cell}: no such cell in the sheet XML")
        parts[part] = text.encode("utf-8")

    _rewrite(path, change)


def _rewrite(
    path: Path, change: Callable[[dict[str, bytes]], None], added: bool = False
) -> None:
    """Apply ``change`` to the parts of the package; write it back atomically.

    ``added``: ``change`` may add parts, which are written after the others.
    """
    path = Path(path)
    with zipfile.ZipFile(path) as package:
        infos = package.infolist()
        parts = {info.filename: package.read(info.filename) for info in infos}
    change(parts)
    known = {info.filename for info in infos}
    if added:
        infos += [zipfile.ZipInfo(name) for name in parts if name not in known]
    elif set(parts) != known:
        raise ValueError("an edit added or removed a part of the package")
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".xlsx")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as out:
            for info in infos:
                out.writestr(info, parts[info.filename])
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _titles(parts: dict[str, bytes]) -> dict[str, str]:
    """Sheet title -> zip member, in workbook order."""
    book = parts["xl/workbook.xml"].decode("utf-8")
    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    targets = {}
    for rel in re.finditer(r"<Relationship [^>]*>", rels):
        rid = re.search(r'Id="([^"]+)"', rel.group(0)).group(1)
        target = re.search(r'Target="([^"]+)"', rel.group(0)).group(1)
        targets[rid] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    out = {}
    for sheet in re.finditer(r"<sheet [^>]*>", book):
        name = unescape(re.search(r'name="([^"]*)"', sheet.group(0)).group(1))
        rid = re.search(r'r:id="([^"]+)"', sheet.group(0)).group(1)
        out[name] = targets[rid]
    return out


def _part_of(parts: dict[str, bytes], sheet: str) -> str:
    try:
        return _titles(parts)[sheet]
    except KeyError:
        raise KeyError(f"no sheet {sheet!r} in the workbook") from None


def _sheet_part(package: zipfile.ZipFile, sheet: str) -> str:
    parts = {
        name: package.read(name)
        for name in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")
    }
    return _part_of(parts, sheet)


def _delete_row_cells(text: str, row: int) -> str:
    """Drop ``<row r=row>`` and renumber the rows below it in one sheet's XML."""
    text = re.sub(
        rf'<row r="{row}"[^>]*?(?:/>|>.*?</row>)', "", text, count=1, flags=re.S
    )

    def renumber_row(match: re.Match[str]) -> str:
        number = int(match.group(2))
        return f"{match.group(1)}{number - 1 if number > row else number}"

    def renumber_cell(match: re.Match[str]) -> str:
        number = int(match.group(3))
        return (
            f"{match.group(1)}{match.group(2)}{number - 1 if number > row else number}"
        )

    text = re.sub(r'(<row r=")([0-9]+)', renumber_row, text)
    text = re.sub(r'(<c r=")([A-Z]+)([0-9]+)', renumber_cell, text)

    return _shift_ranges(text, row)


def _shift_ranges(text: str, row: int) -> str:
    """Move the ``ref``/``sqref`` ranges of one sheet's elements up past ``row``.

    An element whose every range was on the deleted row (a hyperlink, a
    validation, a merged cell) is removed with it, as a spreadsheet does.
    """
    tag = re.compile(
        r'<(?P<tag>[A-Za-z:]+)(?P<attrs>(?:\s[^>]*?)?\s(?:sq)?ref="[^"]*"[^>]*?)(/?)>'
    )
    out = []
    pos = 0
    while True:
        match = tag.search(text, pos)
        if match is None:
            out.append(text[pos:])
            return "".join(out)
        end = match.end()
        if not match.group(3):  # a container: up to its closing tag
            close = text.index(f"</{match.group('tag')}>", end)
            end = close + len(match.group("tag")) + 3
        element = text[match.start() : end]
        out.append(text[pos : match.start()])
        attr = re.search(r'(\s(?:sq)?ref=")([^"]*)"', element)
        areas = [
            _shift_formula(area, None, row, None) for area in attr.group(2).split()
        ]
        areas = [area for area in areas if "#REF!" not in area]
        if areas:
            out.append(
                element[: attr.start(2)] + " ".join(areas) + element[attr.end(2) :]
            )
        pos = end


def _shift_formula(text: str, sheet: str | None, row: int, home: str | None) -> str:
    """References to rows of ``sheet`` below ``row`` move up; to ``row``: #REF!.

    ``home`` is the sheet the formula lives on (unqualified references point
    there); ``sheet`` None means every reference is on the edited sheet.
    """
    pieces = _STRING.split(text)
    for i in range(0, len(pieces), 2):
        pieces[i] = _REF.sub(lambda m: _shift_ref(m, sheet, row, home), pieces[i])
    return "".join(pieces)


def _shift_ref(
    match: re.Match[str], sheet: str | None, row: int, home: str | None
) -> str:
    qualifier = match.group("sheet")
    on = qualifier.strip("'").replace("''", "'") if qualifier else home
    if sheet is not None and on != sheet:
        return match.group(0)
    prefix = f"{qualifier}!" if qualifier else ""
    first = int(match.group("n1"))
    last = int(match.group("n2")) if match.group("n2") else first
    if first == last == row:
        return f"{prefix}#REF!"
    first = first - 1 if first > row else first
    last = last - 1 if last >= row else last
    text = f"{prefix}{match.group('c1')}{match.group('r1')}{first}"
    if match.group("n2"):
        text += f":{match.group('c2')}{match.group('r2')}{last}"
    return text
