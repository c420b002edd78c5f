"""Open a workbook someone sent us, carefully, and read it without changing it.

A workbook that went by email is untrusted input. Before openpyxl or a
spreadsheet engine sees it, :func:`check_package` makes sure it is an xlsx
package and not something dangerous or absurd: an encrypted or legacy binary
file, a macro workbook, a zip bomb (the uncompressed size is bounded before
anything is inflated; Python's zipfile never inflates a part beyond its
declared size), encrypted or exotic zip members, XML with a DTD, links that
would be fetched on opening, or formulas that would reach the network, other
files or programs when an engine recalculates them (WEBSERVICE, DDE, ...).
XML is parsed by openpyxl, which uses defusedxml when it is installed (it is
a dependency of infercost); nothing is ever saved through openpyxl.
"""

from __future__ import annotations

import posixpath
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import openpyxl.xml
from defusedxml import DefusedXmlException, ElementTree
from openpyxl.reader.excel import ExcelReader
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from .errors import InputError

MAX_UNCOMPRESSED = 1024 * 1024 * 1024  # 1 GiB in all
MAX_RATIO = 200  # a part that inflates more than this is a zip bomb
MAX_MEMBERS = 10_000
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def check_package(path: Path) -> None:
    """Raise InputError unless ``path`` is a plain, bounded xlsx package."""
    name = str(path)
    if not path.exists():
        raise InputError("no such file", file=name)
    if path.is_dir():
        raise InputError("is a folder, not a workbook", file=name)
    if not path.is_file():  # a named pipe would block the first read forever
        raise InputError(
            "not a regular file (a named pipe, device or socket); give the "
            "workbook's file",
            file=name,
        )
    with path.open("rb") as handle:
        head = handle.read(4096)
    if not head:
        raise InputError("an empty file, not an xlsx workbook", file=name)
    if head[:8] == OLE_MAGIC:
        raise InputError(
            "an encrypted (password-protected) workbook or a legacy .xls file; "
            "save it as an unprotected .xlsx",
            file=name,
        )
    if not zipfile.is_zipfile(path):
        raise InputError(f"{_what_it_is(head)}, not an xlsx workbook", file=name)
    try:
        with zipfile.ZipFile(path) as package:
            members = package.infolist()
            if len(members) > MAX_MEMBERS:
                raise InputError(
                    f"holds {len(members):,} parts; not a workbook", file=name
                )
            names = {m.filename for m in members}
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                raise InputError("not an xlsx workbook (no xl/workbook.xml)", file=name)
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                raise InputError(
                    "a macro workbook (it holds VBA code); infercost "
                    "reads only macro-free .xlsx files",
                    file=name,
                )
            total = 0
            for member in members:
                total += member.file_size
                if (
                    member.compress_size
                    and member.file_size > 1024 * 1024
                    and (member.file_size / member.compress_size > MAX_RATIO)
                ):
                    raise InputError(
                        f"part {member.filename} inflates {member.file_size:,} bytes "
                        "from a tiny size (a zip bomb?)",
                        file=name,
                    )
            if total > MAX_UNCOMPRESSED:
                raise InputError(
                    f"inflates to {total:,} bytes; at most "
                    f"{MAX_UNCOMPRESSED:,} are read",
                    file=name,
                )
            _check_members(members, name)
            types = _read_small(package, "[Content_Types].xml", name)
            if b"macroEnabled" in types:
                raise InputError(
                    "a macro-enabled workbook (.xlsm); infercost reads "
                    "only macro-free .xlsx files",
                    file=name,
                )
            _check_links(package, members, name)
            _check_xml(package, members, name)
    except zipfile.BadZipFile as exc:
        raise InputError(
            f"a damaged or truncated xlsx package ({exc})", file=name
        ) from None


def _what_it_is(head: bytes) -> str:
    """What a file that is not a zip package looks like, from its first bytes."""
    if head.startswith(b"PK\x03\x04"):
        return "a truncated or damaged zip package (was the file cut short?)"
    if head.startswith((b"<?xml", b"<html", b"<!DOCTYPE", b"<HTML")):
        return "an XML or HTML document"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # The 4096-byte head may end inside a multi-byte character.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return "a binary file that is not a zip package"
    if "\x00" in text:
        return "a binary file that is not a zip package"
    return "a text file"


def open_workbook(path: Path, *, data_only: bool = False) -> Any:
    """openpyxl workbook of ``path`` in read-only mode, after :func:`check_package`."""
    check_package(path)
    if not openpyxl.xml.DEFUSEDXML:  # pragma: no cover - defusedxml is a dependency
        raise InputError("defusedxml is not installed; refusing to parse workbooks")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_read_only(path, data_only=data_only)
        with zipfile.ZipFile(path) as package:
            workbook.infercost_inline_strings = (
                "xl/sharedStrings.xml" not in package.namelist()
            )
        return workbook
    except InputError:
        raise
    except Exception as exc:  # openpyxl raises many types on a broken package
        raise InputError(
            f"cannot read the workbook: {type(exc).__name__}: {exc}", file=str(path)
        ) from None


def load_read_only(path: Path | str, *, data_only: bool = False) -> Any:
    """openpyxl's read-only workbook of ``path``, its defined names not parsed.

    As :func:`openpyxl.load_workbook` opens it (``read_only=True``,
    ``keep_links=False``), except that openpyxl does not turn every
    ``<definedName>`` into an object: cells never need them
    (:func:`read_package` reads the names as stored), and a large infercost
    workbook has 40,000, half a second of CPU at each opening. The workbook
    part reaches openpyxl without its ``<definedNames>`` element when that
    is plain (see :func:`without_defined_names`), else as stored. No safety
    check: a file from outside goes through :func:`open_workbook`.
    """
    reader = ExcelReader(path, read_only=True, data_only=data_only, keep_links=False)
    reader.archive = _NamesLeftOut(reader.archive)
    reader.read()
    return reader.wb


class _NamesLeftOut:
    """A zip package whose parts read whole come without ``<definedNames>``."""

    def __init__(self, package: zipfile.ZipFile) -> None:
        self._package = package

    def __getattr__(self, name: str) -> Any:
        return getattr(self._package, name)

    def read(self, name: Any, pwd: bytes | None = None) -> bytes:
        return without_defined_names(self._package.read(name, pwd))


_NAMES_START = b"<definedNames>"
_NAMES_END = b"</definedNames>"


def without_defined_names(data: bytes) -> bytes:
    """XML ``data`` without its ``<definedNames>`` element, if it is plain.

    Plain: one start tag and one end tag after it, spelt without a prefix
    or spaces, and no CDATA section, comment or processing instruction but
    the XML declaration in the part (where the same bytes would not be
    markup). Anything else is returned as it is.
    """
    start = data.find(_NAMES_START)
    if start < 0:
        return data
    end = data.find(_NAMES_END, start)
    if (
        end < 0
        or data.find(_NAMES_START, start + 1) >= 0
        or data.find(_NAMES_END, end + 1) >= 0
        or b"<![CDATA[" in data
        or b"<!--" in data
        or data.find(b"<?", 1) >= 0  # a processing instruction past the prolog
    ):
        return data
    return data[:start] + data[end + len(_NAMES_END) :]


def worksheet_titles(workbook: Any) -> list[str]:
    """Titles of the worksheets of ``workbook``, in order (chart sheets left out)."""
    return [ws.title for ws in workbook.worksheets]


_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _unescape(text: str) -> str:
    """Decode Excel's _xHHHH_ escapes, which openpyxl leaves in inline strings.

    A workbook written without a shared-strings part (infercost writes its
    text inline) keeps ``_x005F_x0041_`` for a literal ``_x0041_``; Excel and
    LibreOffice decode it, openpyxl does not.
    """
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


class Text(str):
    """Cell text that merely starts with '=' (a label, not a formula)."""


def is_formula(value: Any) -> bool:
    """Whether a value from :func:`sheet_cells` is a formula."""
    return (
        isinstance(value, str)
        and not isinstance(value, Text)
        and value.startswith(("=", "{="))
    )


def sheet_cells(
    workbook: Any, title: str, hiding: dict[tuple[int, int], str] | None = None
) -> dict[tuple[int, int], Any]:
    """{(row, col) 0-based: value} of every non-empty cell of worksheet ``title``.

    A formula is its text with '=' (text that starts with '=' is a
    :class:`Text`, see :func:`is_formula`); an array formula is its text in braces,
    ``{=...}``, as Excel shows it (it is not the same formula as ``=...``);
    a data table is ``{=TABLE(...)}``.

    ``hiding``, when given, receives {(row, col): format code} of every
    formula or number cell whose number format does not show its value
    (:func:`format_hides`).
    """
    ws = workbook[title]
    inline = getattr(workbook, "infercost_inline_strings", False)
    ws.reset_dimensions()
    out: dict[tuple[int, int], Any] = {}
    risks: dict[Any, str | None] = {}
    for r, row in enumerate(ws.iter_rows()):
        for c, cell in enumerate(row):
            value = cell.value
            if value is None:
                continue
            if hiding is not None and cell.data_type in ("n", "f"):
                key = getattr(cell, "_style_id", None)  # formats by style, once
                if key not in risks or key is None:
                    code = cell.number_format
                    risks[key] = code if format_hides(code) else None
                if risks[key] is not None:
                    hiding[(r, c)] = risks[key]
            if inline and isinstance(value, str) and "_x" in value:
                value = _unescape(value)
            if (
                cell.data_type == "s"
                and isinstance(value, str)
                and (value.startswith(("=", "{=")))
            ):
                value = Text(value)
            elif isinstance(value, ArrayFormula):
                value = "{" + str(value.text or "=") + "}"
            elif isinstance(value, DataTableFormula):
                value = f"{{=TABLE({value.r1 or ''},{value.r2 or ''})}}"
            out[(r, c)] = value
    return out


def format_hides(code: str) -> str | None:
    """Why number format ``code`` does not show a cell's number, or None.

    It hides or misstates the number when a section for numbers (positive,
    negative, zero) shows no digit of it (only text, nothing, or a date),
    when it shows digits typed as text, or when it scales the number (a
    comma after the last digit: thousands, millions). Colours, currency
    signs, decimals and separators change nothing.
    """
    if code.strip().lower() in ("general", "@", ""):
        return None
    sections: list[list[tuple[str, str]]] = [[]]
    i = 0
    while i < len(code):
        ch = code[i]
        if ch == '"':
            end = code.find('"', i + 1)
            end = len(code) if end < 0 else end
            sections[-1] += [("text", t) for t in code[i + 1 : end]]
            i = end + 1
        elif ch == "\\":
            sections[-1].append(("text", code[i + 1 : i + 2]))
            i += 2
        elif ch in "_*":  # a space the width of the next character; fill
            i += 2
        elif ch == "[":
            end = code.find("]", i)
            i = len(code) if end < 0 else end + 1
        elif ch == ";":
            sections.append([])
            i += 1
        else:
            sections[-1].append(("code", ch))
            i += 1
    for section in sections[:3]:
        shown = "".join(t for kind, t in section if kind == "code")
        if "general" in shown.lower():
            continue
        digits = [k for k, ch in enumerate(shown) if ch in "0#?"]
        if not digits:
            return "it shows no digit of the number"
        if any(kind == "text" and t.isdigit() for kind, t in section):
            return "it shows digits typed as text"
        if "," in shown[digits[-1] :] or shown.endswith(","):
            return "it scales the number"
    return None


# ---------------------------------------------------------------------------
# What a crafted package could make a spreadsheet engine do. infercost itself
# never evaluates a formula or follows a link, but ``verify`` hands the file to
# LibreOffice or Gnumeric to recalculate: anything that could run code, reach
# the network or read another file is refused before that.

#: Parts an infercost workbook never has, and why each is refused.
RISKY_PARTS = (
    ("xl/macrosheets/", "Excel 4.0 macro sheets"),
    ("xl/dialogsheets/", "macro dialog sheets"),
    ("xl/activex/", "ActiveX controls"),
    ("xl/embeddings/", "embedded objects"),
    ("xl/externallinks/", "links to other workbooks"),
    ("xl/connections.xml", "data connections"),
    ("xl/querytables/", "web or database queries"),
)
#: Functions that reach the network, other files or code when recalculated.
RISKY_FUNCTIONS = re.compile(
    r"(?<![\w.])(?:_xlfn\.|_xlws\.)?(WEBSERVICE|FILTERXML|RTD|CALL|REGISTER(?:\.ID)?"
    r"|DDE|IMAGE|STOCKHISTORY|INDIRECT|EXEC)\s*\(",
    re.IGNORECASE,
)
#: Elements whose text is a formula: cells, conditional formats, validations,
#: defined names.
FORMULA_TAGS = frozenset({"f", "formula", "formula1", "formula2", "definedName"})
#: A quick look at the raw bytes: a part without any of these cannot hold a
#: formula :func:`_check_formula` refuses (XML can spell a character only
#: through itself, a character reference, or inside CDATA, comments or
#: processing instructions, all of which are suspect here). A part that has
#: one is parsed exactly.
_SUSPECT_NAMES = (
    b"webservice",
    b"filterxml",
    b"rtd",
    b"call",
    b"register",
    b"dde",
    b"image",
    b"stockhistory",
    b"indirect",
    b"exec",
)
_LONGEST_NAME = max(map(len, _SUSPECT_NAMES))
_NAMESPACE_URL = re.compile(rb"xmlns(?::[\w.-]+)?\s*=\s*[\"'][a-z]+$", re.IGNORECASE)
_CHUNK = 4 * 1024 * 1024
#: Bytes of one chunk read again with the next: more than the longest
#: formula element (8,192 characters, each at most 6 bytes escaped).
_OVERLAP = 65536
_MAX_SMALL = 16 * 1024 * 1024


def _read_small(package: zipfile.ZipFile, member: str, name: str) -> bytes:
    """A part that is small in any real workbook, read whole after a size check."""
    info = package.getinfo(member)
    if info.file_size > _MAX_SMALL:
        raise InputError(
            f"part {member} inflates to {info.file_size:,} bytes; not a workbook",
            file=name,
        )
    return package.read(info)


def _check_members(members: list[zipfile.ZipInfo], name: str) -> None:
    """Refuse encrypted or exotic zip members, repeated names and risky parts."""
    seen: set[str] = set()
    for member in members:
        lower = member.filename.lower()
        if member.flag_bits & 0x1:
            raise InputError(
                f"an encrypted zip package (part {member.filename}); save the "
                "workbook without a password",
                file=name,
            )
        if member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise InputError(
                f"part {member.filename} uses zip compression method "
                f"{member.compress_type}, which no xlsx writer uses",
                file=name,
            )
        if lower in seen:
            raise InputError(
                f"holds the part {member.filename} twice (a crafted package?)",
                file=name,
            )
        seen.add(lower)
        for prefix, what in RISKY_PARTS:
            if lower.startswith(prefix):
                raise InputError(
                    f"holds {what} ({member.filename}); infercost reads only "
                    "plain .xlsx workbooks",
                    file=name,
                )


def _check_links(
    package: zipfile.ZipFile, members: list[zipfile.ZipInfo], name: str
) -> None:
    """Refuse relationships to outside resources other than clickable links.

    A hyperlink is only followed when someone clicks it; an external image,
    object or data source would be fetched when the file is opened.
    """
    for member in members:
        if not member.filename.lower().endswith(".rels"):
            continue
        data = _read_small(package, member.filename, name)
        try:
            root = ElementTree.fromstring(data, forbid_dtd=True)
        except (DefusedXmlException, ElementTree.ParseError) as exc:
            raise InputError(
                f"part {member.filename} is not plain XML ({type(exc).__name__})",
                file=name,
            ) from None
        for rel in root:
            if rel.get("TargetMode", "").lower() != "external":
                continue
            kind = rel.get("Type", "").rsplit("/", 1)[-1]
            if kind != "hyperlink":
                raise InputError(
                    f"links to an outside resource that would be fetched on "
                    f"opening ({kind} {rel.get('Target', '')!r} in "
                    f"{member.filename}); infercost refuses such workbooks",
                    file=name,
                )


def _check_xml(
    package: zipfile.ZipFile, members: list[zipfile.ZipInfo], name: str
) -> None:
    """Refuse XML with a DTD or not in UTF-8, and formulas that reach outside.

    Parts are read in chunks, so a large sheet never sits whole in memory;
    the sheets and the workbook part are parsed (with defusedxml) only when
    their bytes hold something suspect.
    """
    for member in members:
        lower = member.filename.lower()
        if not lower.endswith((".xml", ".rels", ".vml")):
            continue
        scan = lower.startswith("xl/worksheets/") or lower == "xl/workbook.xml"
        suspect = False
        tail = b""
        with package.open(member) as handle:
            chunk = handle.read(_CHUNK)
            _check_prolog(chunk, member.filename, name)
            while chunk:
                data = tail + chunk
                if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
                    raise InputError(
                        f"part {member.filename} declares a DTD or entities, which "
                        "no xlsx writer does (a crafted file?)",
                        file=name,
                    )
                suspect = suspect or (scan and _is_suspect(data))
                tail = data[-_OVERLAP:]
                chunk = handle.read(_CHUNK)
        if suspect:
            _parse_formulas(package, member, name)


def _is_suspect(data: bytes) -> bool:
    """Whether raw XML ``data`` may hold a formula :func:`_check_formula` refuses.

    Byte searches only (a regular expression with alternatives is ten times
    slower on a 100 MB sheet).
    """
    low = data.lower()
    # One byte is found by memchr, many times faster than a word: "&#" and
    # "<?" are looked for only when "&" or "?" is there at all.
    if any(token in low for token in (b"|", b"<![cdata[", b"<!--", b"file:")):
        return True
    if b"&" in data and b"&#" in data:
        return True
    if b"[" in data and re.search(rb"\[\s*\d", data):
        return True
    # A name called: the end of a piece before a "(", white space allowed
    # between. The pieces of a sheet end in few different ways.
    endings = {piece.rstrip()[-_LONGEST_NAME:] for piece in low.split(b"(")[:-1]}
    if any(ending.endswith(_SUSPECT_NAMES) for ending in endings):
        return True
    if _formula_holds_element(data):
        return True
    at = low.find(b"<?", 1) if b"?" in data else -1
    while at >= 0:
        if not low.startswith(b"<?xml ", at):
            return True
        at = low.find(b"<?", at + 2)
    at = data.find(b"://")
    while at >= 0:
        if not _NAMESPACE_URL.search(data, max(0, at - 80), at):
            return True  # not xmlns="http://schemas...", a namespace
        at = data.find(b"://", at + 3)
    return False


#: Start tags of the formula elements the quick scan follows; a prefixed one
#: (``<x:f>``) is unusual enough to be parsed exactly.
_FORMULA_STARTS = (b"<f", b"<formula", b"<formula1", b"<formula2", b"<definedName")


def _formula_holds_element(data: bytes) -> bool:
    """Whether a formula element of ``data`` holds another element.

    Its text is what an XML parser joins, so ``INDIRECT<x/>(...)`` or
    ``IND<x></x>IRECT(...)`` is a call that no byte search for a name sees:
    such a part is parsed exactly. A formula element cut by the end of
    ``data`` is looked at again with the next chunk (the overlap).
    """
    if (
        b":f>" in data
        or b":f " in data
        or b":formula" in data
        or b":definedName" in data
    ):
        return True
    for start in _FORMULA_STARTS:
        at = data.find(start)
        while at >= 0:
            after = data[at + len(start) : at + len(start) + 1]
            end = data.find(b">", at)
            if end < 0:
                break
            if after in (b">", b" ", b"\t", b"\n", b"\r") and data[end - 1] != 0x2F:
                text_end = data.find(b"<", end)
                if text_end >= 0 and data[text_end + 1 : text_end + 2] != b"/":
                    return True  # the next tag opens an element, not this one's end
            at = data.find(start, end)
    return False


def _check_prolog(head: bytes, part: str, name: str) -> None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00<", b"<\x00")) or re.match(
        rb"<\?xml[^>]*encoding=[\"'](?!utf-8)", head[:200], re.IGNORECASE
    ):
        raise InputError(f"part {part} is not UTF-8 XML", file=name)


def _parse_formulas(
    package: zipfile.ZipFile, member: zipfile.ZipInfo, name: str
) -> None:
    """Parse one part exactly and check the text of every formula element."""
    try:
        with package.open(member) as handle:
            for _, elem in ElementTree.iterparse(
                handle, events=("end",), forbid_dtd=True
            ):
                tag = elem.tag.rsplit("}", 1)[-1]
                if tag in FORMULA_TAGS:
                    _check_formula("".join(elem.itertext()), tag, member.filename, name)
                if tag in FORMULA_TAGS or tag in ("c", "row"):
                    elem.clear()
    except (DefusedXmlException, ElementTree.ParseError) as exc:
        raise InputError(
            f"part {member.filename} is not plain XML ({type(exc).__name__})",
            file=name,
        ) from None


def _check_formula(formula: str, tag: str, part: str, name: str) -> None:
    """Refuse a formula that would reach outside the workbook when recalculated."""
    bare = re.sub(r'"(?:[^"]|"")*"', '""', formula)
    problem = ""
    found = RISKY_FUNCTIONS.search(bare)
    if found:
        problem = f"calls {found.group(1).upper()}, which reaches outside the workbook"
    elif "|" in bare:
        problem = "holds a DDE link (|), which starts another program"
    elif re.search(r"\[\s*\d+\s*\]", bare) or re.search(r"://|file:", bare):
        problem = "refers to another workbook or address"
    if problem:
        where = "a defined name" if tag == "definedName" else "a formula"
        raise InputError(
            f"{where} in {part} {problem} ({formula[:60]!r}); infercost refuses "
            "to recalculate such workbooks",
            file=name,
        )


# ---------------------------------------------------------------------------
# Parts openpyxl reads loosely or not at all: defined names exactly as stored
# (every copy of a repeated name, sheet-level names) and chart series.

_RELATIONSHIPS = "officeDocument/2006/relationships"


@dataclass(frozen=True)
class DefinedName:
    """One ``<definedName>`` of ``xl/workbook.xml``, in file order.

    ``ref`` is its text as stored (no leading '='); ``scope`` the title of the
    sheet a sheet-level name belongs to (None: the whole workbook), or
    ``"#<n>"`` when its ``localSheetId`` names no sheet.
    """

    name: str
    ref: str
    scope: str | None = None


@dataclass
class ChartRefs:
    """One chart on a worksheet: its title and what each series reads.

    Each series maps ``tx``, ``cat``, ``val``, ``xVal`` and ``yVal`` (those
    present) to a formula: a reference such as ``Ranking!$I$6:$I$16``, a
    string literal ``"name"`` for a typed series name, or ``""`` for data
    typed into the chart.
    """

    sheet: str
    title: str
    series: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Package:
    """Sheet titles (``<sheets>`` order), defined names and charts of a package."""

    sheets: list[str]
    names: list[DefinedName]
    charts: list[ChartRefs]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _rel_id(element: Any) -> str | None:
    for key, value in element.attrib.items():
        if key.endswith("}id") and _RELATIONSHIPS in key:
            return value
    return None


def _parse(package: zipfile.ZipFile, member: str, name: str) -> Any:
    try:
        return ElementTree.fromstring(_read_small(package, member, name))
    except (DefusedXmlException, ElementTree.ParseError) as exc:
        raise InputError(
            f"part {member} is not plain XML ({type(exc).__name__})", file=name
        ) from None


def _targets(package: zipfile.ZipFile, part: str, name: str) -> dict[str, str]:
    """Relationship id -> target part of ``part`` (none when it has no rels)."""
    folder, _, base = part.rpartition("/")
    rels = f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"
    if rels not in package.namelist():
        return {}
    out = {}
    for rel in _parse(package, rels, name):
        if rel.get("TargetMode", "").lower() == "external":
            continue
        target = rel.get("Target", "")
        if target.startswith("/"):
            target = target.lstrip("/")
        else:
            target = posixpath.normpath(posixpath.join(folder, target))
        out[rel.get("Id", "")] = target
    return out


def read_package(path: Path) -> Package:
    """The defined names and charts of ``path``, read from the raw XML.

    Call after :func:`check_package`. Every ``<definedName>`` is kept, in
    file order, duplicates included (openpyxl keeps the last of a repeated
    name, spreadsheets the first) and sheet-level names with their sheet.
    """
    label = str(path)
    with zipfile.ZipFile(path) as package:
        book = _parse(package, "xl/workbook.xml", label)
        sheets: list[tuple[str, str | None]] = []
        names: list[DefinedName] = []
        for element in book.iter():
            tag = element.tag
            tag = tag[tag.find("}") + 1 :]
            if tag == "sheet":
                sheets.append((element.get("name", ""), _rel_id(element)))
            elif tag == "definedName":
                local = element.get("localSheetId")
                scope = None
                if local is not None:
                    index = int(local) if local.isdigit() else -1
                    in_range = 0 <= index < len(sheets)
                    scope = sheets[index][0] if in_range else f"#{local}"
                names.append(
                    DefinedName(element.get("name", ""), element.text or "", scope)
                )
        parts = _targets(package, "xl/workbook.xml", label)
        charts: list[ChartRefs] = []
        present = set(package.namelist())
        for title, rid in sheets:
            part = parts.get(rid or "")
            if part is None or not part.startswith("xl/worksheets/"):
                continue
            for drawing in _targets(package, part, label).values():
                if drawing not in present or "/drawings/" not in drawing:
                    continue
                charts += _drawing_charts(package, drawing, title, label)
    return Package([title for title, _ in sheets], names, charts)


def _drawing_charts(
    package: zipfile.ZipFile, drawing: str, title: str, label: str
) -> list[ChartRefs]:
    targets = _targets(package, drawing, label)
    present = set(package.namelist())
    out = []
    for element in _parse(package, drawing, label).iter():
        if _local(element.tag) != "chart":
            continue
        part = targets.get(_rel_id(element) or "")
        if part in present:
            out.append(_chart_refs(_parse(package, part, label), title))
    return out


_SERIES_TAGS = ("tx", "cat", "val", "xVal", "yVal")


def _chart_refs(root: Any, sheet: str) -> ChartRefs:
    chart = next((e for e in root if _local(e.tag) == "chart"), None)
    refs = ChartRefs(sheet, "")
    if chart is None:
        return refs
    for element in chart:
        if _local(element.tag) == "title":
            refs.title = "".join(
                t.text or "" for t in element.iter() if _local(t.tag) in ("t", "f")
            )
    for series in chart.iter():
        if _local(series.tag) != "ser":
            continue
        found: dict[str, str] = {}
        for part in series:
            tag = _local(part.tag)
            if tag not in _SERIES_TAGS:
                continue
            formula = next((e for e in part.iter() if _local(e.tag) == "f"), None)
            if formula is not None:
                found[tag] = formula.text or ""
            elif tag == "tx":
                text = "".join(
                    e.text or "" for e in part.iter() if _local(e.tag) in ("v", "t")
                )
                found[tag] = '"' + text.replace('"', '""') + '"'
            else:
                found[tag] = ""
        refs.series.append(found)
    return refs
