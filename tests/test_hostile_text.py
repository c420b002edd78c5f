"""Text that ends up in cells is text, whole, and only web links are links.

A label ``=HYPERLINK(...)`` must not become a formula, a 40,000-character
note must not be cut to 32,767 without a word, and a ``javascript:`` source
must not become a clickable link. The sheet XML is read directly: a cell is a
formula exactly when it has an ``<f>`` element.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from engines import require_engine
from openpyxl import load_workbook

from generator.cli import main
from generator.errors import OutputError
from generator.layout import NOTES, PRICEBOOK, build_plan
from generator.plan import Validation
from generator.pricebook import load_book
from generator.verify import verify_workbook
from generator.writer import check_defined_name, check_sheet_title, write_plan
from generator.xlsxread import is_formula, open_workbook, sheet_cells

HYPERLINK = '=HYPERLINK("http://example.invalid","x")'
AT_SUM = "@SUM(1)"
#: Text a spreadsheet would read as a formula, or that is awkward to store.
HOSTILE = {
    "hyperlink": HYPERLINK,
    "at": AT_SUM,
    "plus": "+1+1",
    "minus": "-2+3",
    "equals-cmd": "=cmd|' /C calc'!A0",
    "tab-newline": "tab\there\nnew line",
    "emoji": "Rocket \U0001f680 model \U0001f916",
    "rtl": "\u05e1\u05e4\u05e7 \u0645\u0632\u0648\u062f",
    "bidi-controls": "\u05e1\u05e4\u05e7 \u202eevil\u202c \u2067isolated\u2069",
    "escape-like": "_x0041_ stays as typed",
    "spaces": "  padded  ",
}
#: Labels are also formula results, where a tab or an _x0041_-style escape does
#: not survive every program: the loader refuses them (see test_bad_input).
LABEL_SAFE = {"tab-newline", "escape-like"}
#: Bidirectional overrides and isolates could make a heading or link read
#: other than it is: only notes may hold them (see test_bad_input).
NOTE_ONLY = {"bidi-controls"}


def provider(pid: str, label: str, **extra: str) -> str:
    fields = {
        "id": pid,
        "label": label,
        "model": extra.get("model", f"model of {pid}"),
        "pricing": "per_token",
        "input_rate": "0.1",
        "output_rate": "0.4",
        "quality_tier": "4",
        "source": extra.get("source", "https://example.com/p"),
        "checked": "2026-02-21",
    }
    if "note" in extra:
        fields["note"] = extra["note"]
    lines = []
    for key, value in fields.items():
        if key in ("label", "model", "source", "note"):
            value = (
                '"' + value.encode("unicode_escape").decode().replace('"', '\\"') + '"'
            )
        lines.append(f"    {key}: {value}")
    return "  - " + "\n".join(lines)[4:] + "\n"


def book_text(rows: list[str], name: str = "Hostile text book") -> str:
    return (
        "format: 1\n"
        "pricebook:\n"
        f"  name: {name}\n"
        "  price_date: 2026-02-21\n"
        "providers:\n" + "".join(rows) + "scenarios:\n"
        "  - id: standard\n"
        "    label: Standard\n"
        "    base_tokens: 100000000\n"
        "    input_share: 0.75\n"
        "    min_quality_tier: 3\n"
    )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workbook whose labels, models, notes and sources are all hostile."""
    folder = tmp_path_factory.mktemp("hostile")
    rows = [
        provider(
            f"p_{i}",
            f"label {i}" if key in LABEL_SAFE | NOTE_ONLY else text,
            model=f"model {i}" if key in NOTE_ONLY else text,
            note=text,
        )
        for i, (key, text) in enumerate(HOSTILE.items())
    ]
    rows += [
        provider("js_link", "JS", source="javascript:alert(1)"),
        provider("file_link", "File", source="file:///etc/passwd"),
        provider("mail_link", "Mail", source="mailto:someone@example.com"),
        provider("unc_link", "UNC", source="\\\\server\\share\\x.xlsx"),
        provider("web_link", "Web", source="HTTPS://example.com/a?b=c#d"),
        provider("fy2024", "Looks like a cell"),
        provider("r1c1", "Looks like R1C1"),
    ]
    source = folder / "hostile.yaml"
    source.write_text(book_text(rows, "R&D costs &P"), encoding="utf-8")
    out = folder / "hostile.xlsx"
    result = CliRunner().invoke(main, ["-q", "build", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def sheet_xml(path: Path) -> dict[str, str]:
    """Sheet title -> the text of its worksheet part."""
    with zipfile.ZipFile(path) as package:
        workbook = package.read("xl/workbook.xml").decode()
        rels = package.read("xl/_rels/workbook.xml.rels").decode()
        out = {}
        for title, rid in re.findall(
            r'<sheet name="([^"]+)" sheetId="\d+" r:id="(\w+)"', workbook
        ):
            target = re.search(rf'Id="{rid}"[^>]*Target="([^"]+)"', rels)
            if target is None:
                target = re.search(rf'Target="([^"]+)"[^>]*Id="{rid}"', rels)
            assert target is not None
            part = target.group(1).removeprefix("/").removeprefix("xl/")
            out[title] = package.read("xl/" + part).decode()
    return out


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_formula_like_labels_are_text(hostile: Path) -> None:
    """=HYPERLINK(...) and @SUM(1) are stored as strings: no <f> holds them."""
    sheets = sheet_xml(hostile)
    formulas = [f for xml in sheets.values() for f in re.findall(r"<f>(.*?)</f>", xml)]
    assert formulas, "the workbook has formulas at all"
    for text in (HYPERLINK, AT_SUM, "cmd|", "+1+1"):
        needle = xml_escape(text).replace('"', "&quot;")
        assert not [f for f in formulas if needle in f or text in f], text
    # Text is stored inline in the sheets (<is><t>) or in the shared strings.
    strings = "".join(sheets.values())
    with zipfile.ZipFile(hostile) as package:
        if "xl/sharedStrings.xml" in package.namelist():
            strings += package.read("xl/sharedStrings.xml").decode()
    assert xml_escape(HYPERLINK) in strings or HYPERLINK in strings
    assert AT_SUM in strings


def test_hostile_text_reads_back_exactly(hostile: Path) -> None:
    """Labels, models and notes come back character for character, as text.

    Read as infercost reads workbooks (generator.xlsxread), which decodes the
    _xHHHH_ escapes that openpyxl leaves in inline strings.
    """
    wb = open_workbook(hostile)
    cells = sheet_cells(wb, PRICEBOOK)
    found = [value for value in cells.values() if value in HOSTILE.values()]
    for text in HOSTILE.values():
        assert text in found, text
    assert not any(is_formula(value) for value in found)
    notes = list(sheet_cells(wb, NOTES).values())
    for text in HOSTILE.values():
        assert text in notes


def test_only_web_urls_are_links(hostile: Path) -> None:
    """javascript:, file:, mailto: and UNC sources stay text; https is a link."""
    targets = []
    with zipfile.ZipFile(hostile) as package:
        for name in package.namelist():
            if name.startswith("xl/worksheets/_rels/"):
                rels = package.read(name).decode()
                targets += re.findall(
                    r'Target="([^"]+)"[^>]*TargetMode="External"', rels
                )
    assert targets
    assert all(t.lower().startswith(("http://", "https://")) for t in targets), targets
    assert any("HTTPS://example.com/a" in t for t in targets)
    wb = load_workbook(hostile)
    texts = {c.value for row in wb[PRICEBOOK].iter_rows() for c in row}
    for source in (
        "javascript:alert(1)",
        "file:///etc/passwd",
        "\\\\server\\share\\x.xlsx",
    ):
        assert source in texts


def test_ids_like_cell_references_make_valid_names(hostile: Path) -> None:
    """Ids fy2024 and r1c1 only ever appear inside longer names."""
    wb = load_workbook(hostile)
    names = list(wb.defined_names)
    assert "input_rate_fy2024" in names and "cost_standard_r1c1" in names
    for name in names:
        check_defined_name(name)


def test_hostile_workbook_verifies(hostile: Path) -> None:
    """The workbook with all that text still verifies (cached values, Gnumeric)."""
    result = verify_workbook(hostile, "cached")
    assert result.ok, [f.message for f in result.findings if f.severity == "error"]
    require_engine("gnumeric")
    result = verify_workbook(hostile, "gnumeric", timeout=300)
    assert result.ok, [f.message for f in result.findings if f.severity == "error"]


def test_hostile_workbook_verifies_in_libreoffice(hostile: Path) -> None:
    """LibreOffice, too, keeps =HYPERLINK(...) and @SUM(1) as text."""
    require_engine("libreoffice")
    result = verify_workbook(hostile, "libreoffice", timeout=300)
    assert result.ok, [f.message for f in result.findings if f.severity == "error"]


def test_print_header_escapes_ampersands(hostile: Path) -> None:
    """A book name with & is shown as typed in the print header, not as codes."""
    sheets = sheet_xml(hostile)
    header = re.search(r"<oddHeader>(.*?)</oddHeader>", sheets[PRICEBOOK])
    assert header and "R&amp;&amp;D costs &amp;&amp;P" in header.group(1)


# -- the writer refuses what Excel would not take ------------------------------


@pytest.fixture
def plan(tmp_path: Path):
    source = tmp_path / "book.yaml"
    source.write_text(book_text([provider("a", "A"), provider("b", "B")]))
    return build_plan(load_book([source]))


def test_text_longer_than_a_cell_is_an_error(plan, tmp_path: Path) -> None:
    """A cell text over 32,767 UTF-16 units stops the build; nothing is cut."""
    sheet = plan.sheet(NOTES)
    sheet.label(200, 0, "\U0001f600" * 16_384)  # 32,768 units in 16,384 chars
    out = tmp_path / "out.xlsx"
    with pytest.raises(OutputError, match=r"Notes!A201: text of 32,768 characters"):
        write_plan(plan, out)
    assert not out.exists()
    assert list(tmp_path.glob(".out.xlsx.*")) == []


def test_control_character_in_a_cell_is_an_error(
    plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A character XML cannot store is refused, naming the cell; the build
    stopped midway leaves no temporary file behind."""
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    plan.sheet(NOTES).label(200, 1, "bell \x07")
    with pytest.raises(OutputError, match=r"Notes!B201: .*U\+0007"):
        write_plan(plan, tmp_path / "out.xlsx")
    assert list(scratch.iterdir()) == []
    assert not (tmp_path / "out.xlsx").exists()


def test_xlsxwriter_warning_is_an_error(plan, tmp_path: Path) -> None:
    """XlsxWriter warns and skips a bad validation; infercost stops instead."""
    plan.sheet(NOTES).validations.append(
        Validation(0, 0, 0, 0, {"validate": "no such kind"})
    )
    out = tmp_path / "out.xlsx"
    with pytest.raises(OutputError, match="cannot write the workbook"):
        write_plan(plan, out)
    assert not out.exists()


def test_non_finite_number_is_an_error(plan, tmp_path: Path) -> None:
    """A model value of inf or NaN is never written (nor silently made 0)."""
    cell = next(
        c for s in plan.sheets for c in s.cells.values() if isinstance(c.value, float)
    )
    cell.value = float("inf")
    with pytest.raises(OutputError, match="inf"):
        write_plan(plan, tmp_path / "out.xlsx")


@pytest.mark.parametrize(
    "name", ["FY2024", "fy2024", "A1", "xfd1048576", "R1C1", "r", "C", "1abc", "a b"]
)
def test_invalid_defined_names(name: str) -> None:
    """Names that read as cell references or hold bad characters are refused."""
    with pytest.raises(OutputError, match=f"defined name '{re.escape(name)}'"):
        check_defined_name(name)


@pytest.mark.parametrize(
    "title",
    ["", "x" * 32, "a[1]", "a:b", "what?", "a/b", "a\\b", "'quoted'", "History"],
)
def test_invalid_sheet_titles(title: str) -> None:
    """Sheet titles follow Excel's rules (ours are fixed; the writer checks)."""
    with pytest.raises(OutputError, match="sheet title"):
        check_sheet_title(title)


def test_duplicate_sheet_title_ignoring_case(plan, tmp_path: Path) -> None:
    """Two sheets whose titles differ only in case are refused."""
    from generator.plan import SheetPlan

    plan.sheets.append(SheetPlan(NOTES.upper()))
    with pytest.raises(OutputError, match="used twice"):
        write_plan(plan, tmp_path / "out.xlsx")
