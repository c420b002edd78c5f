"""What makes verify fast on a large workbook changes nothing it finds.

Issue 7 bounds verify's time on the LiteLLM pricebook. The shortcuts taken
for it are each pinned here against the slow way they replace: the
functions of a sheet found in one scan, the quick byte scan of
:func:`generator.xlsxread.check_package`, openpyxl opening a workbook
without its defined names, and the engine's results read by two processes.
"""

from __future__ import annotations

import re
import signal
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner
from engines import require_engine, verify_with_hanging_engine
from hypothesis import given
from hypothesis import strategies as st
from xlsx_edit import defined_name, replace_formula_with_value, set_cell_value

import generator.verify
from generator import xlsxread
from generator.cli import main
from generator.engine import SplitRead, read_cell_values
from generator.verify import _all_functions, _functions

# ---------------------------------------------------------------------------
# The functions of a sheet, in one scan

FORMULA_PARTS = st.sampled_from(
    [
        "SUM(",
        "sum (",
        "_xlfn.",
        "_XLWS.",
        "WEBSERVICE(",
        "RANK.EQ(",
        "LOG10(",
        "$A(",
        "A1",
        "$B$2",
        "Sheet!",
        '"',
        '""',
        '"IF("',
        "(",
        ")",
        ",",
        "+",
        " ",
        "\n",
        "\x00",
        ".",
        "_",
        "x",
        "9",
        "ß",
        "=",
    ]
)
FORMULAS = st.lists(st.lists(FORMULA_PARTS, max_size=12).map("".join), max_size=8)


@given(FORMULAS)
def test_functions_of_a_sheet_are_those_of_its_formulas(formulas):
    """One scan of the joined formulas finds what a scan of each formula finds."""
    each = set().union(*map(_functions, formulas)) if formulas else set()
    assert _all_functions(formulas) == each


# ---------------------------------------------------------------------------
# The byte scan of check_package


def _suspect_as_before(data: bytes) -> bool:
    """check_package's byte scan as it was, one regular expression per name."""
    low = data.lower()
    tokens = (b"|", b"&#", b"<![cdata[", b"<!--", b"file:")
    if any(token in low for token in tokens):
        return True
    if b"[" in data and re.search(rb"\[\s*\d", data):
        return True
    for word in xlsxread._SUSPECT_NAMES:
        if re.search(re.escape(word) + rb"\s*\(", low):
            return True
    at = low.find(b"<?", 1)
    while at >= 0:
        if not low.startswith(b"<?xml ", at):
            return True
        at = low.find(b"<?", at + 2)
    at = data.find(b"://")
    while at >= 0:
        if not xlsxread._NAMESPACE_URL.search(data, max(0, at - 80), at):
            return True
        at = data.find(b"://", at + 3)
    return False


XML_PARTS = st.sampled_from(
    [
        b"webservice",
        b"WebService",
        b"indirect",
        b"INDIRECT",
        b"register",
        b"rtd",
        b"dde",
        b"exec",
        b"image",
        b"(",
        b" ",
        b"\t",
        b"\n",
        b"\x0b",
        b"x",
        b"<f>",
        b"</f>",
        b"&#87;",
        b"&amp;",
        b"<!--",
        b"<![CDATA[",
        b"<!",
        b"<?xml ",
        b"<?pi",
        b"?",
        b"[1]",
        b"[",
        b"|",
        b"file:",
        b'xmlns="http://x',
        b"http://",
    ]
)


@given(st.lists(XML_PARTS, max_size=16).map(b"".join))
def test_byte_scan_finds_what_the_regular_expressions_found(data):
    """The split-based scan for called names agrees with one regex per name;
    it also sends a part to the exact parse when a formula element holds
    another element (a name the bytes do not show whole)."""
    expected = _suspect_as_before(data) or xlsxread._formula_holds_element(data)
    assert xlsxread._is_suspect(data) == expected


@pytest.mark.parametrize(
    ("data", "holds"),
    [
        (b"<c><f>SUM(A1:A2)</f><v>3</v></c>", False),
        (b'<c><f t="shared" si="0"/><v>3</v></c>', False),
        (b"<dataValidation><formula1>0</formula1><formula2>1</formula2>", False),
        (b"<definedNames><definedName name='a'>S!$A$1</definedName>", False),
        (b"<c><f>INDIRECT<x/>(A1)</f></c>", True),
        (b"<c><f >IND<x></x>IRECT(A1)</f></c>", True),
        (b"<formula1>IND<x/>IRECT(A1)</formula1>", True),
        (b"<definedName name='a'>IND<x/>IRECT(A1)</definedName>", True),
        (b"<c><x:f>SUM(A1)</x:f></c>", True),
    ],
    ids=[
        "plain",
        "shared",
        "validation",
        "name",
        "child",
        "split",
        "formula1",
        "defined-name",
        "prefixed",
    ],
)
def test_formula_element_holding_an_element_is_found(data, holds):
    assert xlsxread._formula_holds_element(data) is holds


# ---------------------------------------------------------------------------
# openpyxl without the defined names

NAMES = b'<definedNames><definedName name="a">S!$A$1</definedName></definedNames>'
PLAIN = b"<workbook><sheets/>" + NAMES + b"<calcPr/></workbook>"


@pytest.mark.parametrize(
    ("data", "left_out"),
    [
        (PLAIN, True),
        (b"<workbook><sheets/></workbook>", False),
        (PLAIN.replace(b"<calcPr/>", b"<!-- <definedNames> --><calcPr/>"), False),
        (PLAIN.replace(b"<calcPr/>", b"<![CDATA[</definedNames>]]>"), False),
        (
            PLAIN.replace(b"</workbook>", b"<definedNames></definedNames></workbook>"),
            False,
        ),
        (PLAIN.replace(b"<definedNames>", b"<x:definedNames>"), False),
        (b'<?xml version="1.0"?>' + PLAIN, True),
        (
            # A processing instruction could hold the only plain tags, the
            # real ones spelt with a space: cutting would hide what is between.
            b'<workbook><?x <definedNames>?><sheet name="Costs"/>'
            b"<?y </definedNames>?><definedNames ></definedNames ></workbook>",
            False,
        ),
    ],
    ids=["plain", "none", "comment", "cdata", "twice", "prefixed", "prolog", "pi"],
)
def test_defined_names_are_left_out_only_when_plain(data, left_out):
    """Only one plain <definedNames> element is cut; anything odd is left as is."""
    out = xlsxread.without_defined_names(data)
    if left_out:
        assert out == data.replace(NAMES, b"")
        assert b"definedName" not in out
    else:
        assert out == data


@pytest.mark.parametrize("data_only", [False, True], ids=["formulas", "values"])
def test_workbook_opened_without_names_has_the_same_cells(built_workbook, data_only):
    """load_read_only reads every cell as openpyxl.load_workbook does."""

    def cells(book):
        try:
            return {
                ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()]
                for ws in book.worksheets
            }
        finally:
            book.close()

    fast = xlsxread.load_read_only(built_workbook, data_only=data_only)
    slow = openpyxl.load_workbook(built_workbook, read_only=True, data_only=data_only)
    assert cells(fast) == cells(slow)


# ---------------------------------------------------------------------------
# The engine's results read by two processes


def _wait_for(path: Path, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_split_read_gives_what_one_process_reads(built_workbook, tmp_path):
    """Every sheet, in workbook order, with the values read_cell_values gives."""
    reader = SplitRead(tmp_path)
    try:
        reader.begin(built_workbook)
        values = reader.values()
    finally:
        reader.close()
    expected = read_cell_values(built_workbook)
    assert list(values) == list(expected)
    assert values == expected


def test_split_read_takes_the_helpers_sheets(built_workbook, tmp_path):
    """A helper that finished first delivers every sheet; none is read twice."""
    reader = SplitRead(tmp_path)
    try:
        reader.begin(built_workbook)
        _wait_for(tmp_path / "values.pickle")
        values = reader.values()
    finally:
        reader.close()
    assert values == read_cell_values(built_workbook)
    sheets = len(values)
    assert sorted(p.name for p in tmp_path.glob("sheet-*")) == sorted(
        f"sheet-{i}" for i in range(sheets)
    )


@pytest.mark.parametrize("python", ["/nonexistent/python", "/bin/false"])
def test_split_read_reads_alone_without_a_helper(
    built_workbook, tmp_path, monkeypatch, python
):
    """A helper that cannot start, or dies at once, leaves all the reading here."""
    monkeypatch.setattr(sys, "executable", python)
    reader = SplitRead(tmp_path)
    try:
        reader.begin(built_workbook)
        values = reader.values()
    finally:
        reader.close()
    assert values == read_cell_values(built_workbook)


def test_split_read_close_ends_a_waiting_helper(tmp_path):
    """A helper never given a file is killed and reaped by close()."""
    reader = SplitRead(tmp_path)
    helper = reader._helper
    assert helper is not None
    reader.close()
    assert helper.returncode is not None
    reader.close()  # twice is harmless


def _findings(path: Path, monkeypatch, smallest: int) -> dict:
    import json

    monkeypatch.setattr(generator.verify, "SPLIT_READ_MIN_BYTES", smallest)
    monkeypatch.setattr(generator.verify, "_cores", lambda: 2)
    args = ["verify", "--engine", "libreoffice", "--json", str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output
    found = json.loads(result.stdout)
    for key in ("seconds", "engine_seconds"):
        found.pop(key)
    return found


def test_verify_finds_the_same_with_its_results_read_in_two_processes(
    workbook_copy, monkeypatch
):
    """Typed values over formulas and a stale input: one report either way."""
    require_engine("libreoffice")
    replace_formula_with_value(
        workbook_copy, *defined_name(workbook_copy, "cost_agent_vertex_gpt_oss"), 1.5
    )
    volume = defined_name(workbook_copy, "base_tokens_standard")
    set_cell_value(workbook_copy, *volume, 2e6)
    alone = _findings(workbook_copy, monkeypatch, sys.maxsize)
    split = _findings(workbook_copy, monkeypatch, 0)
    assert split == alone
    assert alone["findings"]


def _children(pid: int, marker: bytes) -> list[int]:
    """Processes whose parent is ``pid`` and whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid and marker in cmdline:
            found.append(int(entry.name))
    return found


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_sigterm_during_verify_ends_the_reading_helper_too(workbook_copy, tmp_path):
    """SIGTERM with the helper waiting: engine, helper and files all go."""
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc")
    code = (
        "import generator.verify as v; v.SPLIT_READ_MIN_BYTES = 0; "
        "v._cores = lambda: 2; from generator.cli import main; main()"
    )
    child, pid_file, scratch = verify_with_hanging_engine(workbook_copy, tmp_path, code)
    try:
        helpers = _children(child.pid, b"_help_read")
        assert len(helpers) == 1
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 128 + signal.SIGTERM
    assert _gone(int(pid_file.read_text()))
    assert _gone(helpers[0])
    assert list(scratch.iterdir()) == []


def test_render_summarises_tens_of_thousands_of_stale_values():
    """An input edited in a big workbook makes a stale warning for most
    cells: render names their count once and lists only the other warnings
    (comparing every finding with every stale one took ten minutes)."""
    from generator.verify import Finding, Result, render

    stale = [
        Finding("stale", "cached value is stale", "warning", "Costs", f"F{r}")
        for r in range(60_000)
    ]
    other = Finding("label", "heading differs", "warning", "Notes", "A1")
    result = Result("big.xlsx", "libreoffice", findings=[*stale, other])
    text = render(result)
    assert "warning 60,000 cached values are stale" in text
    assert "warning Notes!A1: heading differs" in text
    assert "more warnings" not in text
    assert text.splitlines()[-1].startswith("OK:")
