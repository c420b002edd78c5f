"""Recalculation by a real engine: formulas are recomputed, never trusted.

Every workbook here caches a deliberately wrong result (999) beside each
formula, so a test passes only if the engine recalculated. The function
table doubles as the team's list of functions both engines get right.
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from engines import require_engine
from openpyxl import load_workbook

from generator.engine import (
    ENGINES,
    Cancelled,
    EngineError,
    available_engines,
    read_values,
    recalculate_to,
    recalculated_values,
)

WRONG = 999  # the cached result written beside every formula


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stale_workbook(path: Path) -> Path:
    """Write A1=21 and B1 '=A1*2' whose cached result is the wrong 999."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Sheet")
    sheet.write("A1", 21)
    sheet.write_formula("B1", "=A1*2", None, WRONG)
    book.close()
    return path


@pytest.fixture
def stale(tmp_path: Path) -> Path:
    """A workbook whose only formula has a wrong cached result."""
    return _stale_workbook(tmp_path / "in" / "stale.xlsx")


# --- the cached value is ignored ------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_stale_cached_value_is_recalculated(engine: str, stale: Path) -> None:
    """The engine replaces XlsxWriter's cached 999 with the real result."""
    require_engine(engine)
    assert read_values(stale)["Sheet"]["B1"] == WRONG  # the trap is set
    values = recalculated_values(stale, engine, timeout=120)
    assert values == {"Sheet": {"A1": 21, "B1": 42}}


@pytest.mark.parametrize("engine", ENGINES)
def test_input_file_is_untouched(engine: str, stale: Path) -> None:
    """The input keeps its bytes and mtime; nothing appears beside it."""
    require_engine(engine)
    before = _sha256(stale)
    mtime = stale.stat().st_mtime_ns
    recalculated_values(stale, engine, timeout=120)
    assert _sha256(stale) == before
    assert stale.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in stale.parent.iterdir()) == ["stale.xlsx"]


@pytest.mark.filterwarnings("ignore:Workbook contains no default style")
@pytest.mark.parametrize("engine", ENGINES)
def test_recalculate_to_keeps_formulas_and_new_results(
    engine: str, stale: Path, tmp_path: Path
) -> None:
    """recalculate_to writes an xlsx with the formulas and fresh cached values."""
    require_engine(engine)
    out = recalculate_to(stale, engine, tmp_path / "out" / "recalc.xlsx", 120)
    assert out == tmp_path / "out" / "recalc.xlsx"
    assert read_values(out)["Sheet"]["B1"] == 42
    book = load_workbook(out, read_only=True)
    try:
        assert book["Sheet"]["B1"].value == "=A1*2"
    finally:
        book.close()


@pytest.mark.parametrize("engine", ENGINES)
def test_temporary_files_are_removed(
    engine: str, stale: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The private copy, output and LibreOffice profile are deleted after use."""
    require_engine(engine)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    recalculated_values(stale, engine, timeout=120)
    left = [p.name for p in scratch.iterdir()]
    # Only the process-wide LibreOffice template profile may remain.
    assert all(name.startswith("infercost-lo-template-") for name in left), left


def test_libreoffice_runs_in_parallel(tmp_path: Path) -> None:
    """Two LibreOffice runs at once do not share a profile or an instance."""
    require_engine("libreoffice")
    books = [_stale_workbook(tmp_path / f"book{i}.xlsx") for i in range(2)]
    results: list[object] = [None, None]

    def run(i: int) -> None:
        try:
            results[i] = recalculated_values(books[i], "libreoffice", timeout=120)
        except Exception as exc:  # reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [{"Sheet": {"A1": 21, "B1": 42}}] * 2


# --- functions both engines must get right --------------------------------

# (id, formula, expected). Inputs: Inputs!A1:D1 = 10, 30, 20, 40 (one row);
# Inputs!A3:A5 = "a", "b", "c"; Inputs!B3 = 1.23456 (named "rate");
# Inputs!C3 = "x"; the name "row_vals" is Inputs!$A$1:$D$1.
FUNCTION_CASES: list[tuple[str, str, object]] = [
    ("defined_name_and_round", "=ROUND(rate*100,2)", 123.46),
    ("defined_name_range", "=SUM(row_vals)", 100),
    ("absolute_refs", "=Inputs!$A$1+Inputs!A$1+Inputs!$A1", 30),
    ("round_half_up", "=ROUND(2.5,0)+ROUND(-2.5,0)", 0),
    ("index_row_and_column_on_row", "=INDEX(Inputs!$A$1:$D$1,1,3)", 20),
    ("index_on_column", "=INDEX(Inputs!$A$3:$A$5,2)", "b"),
    ("match_exact", "=MATCH(40,Inputs!$A$1:$D$1,0)", 4),
    ("index_match", "=INDEX(row_vals,1,MATCH(20,row_vals,0))", 20),
    ("rank_descending", "=RANK(Inputs!C1,Inputs!$A$1:$D$1)", 3),
    ("rank_ascending", "=RANK(Inputs!C1,Inputs!$A$1:$D$1,1)", 2),
    ("countif_number", '=COUNTIF(Inputs!$A$1:$D$1,">15")', 3),
    ("countif_text", '=COUNTIF(Inputs!$A$3:$A$5,"b")', 1),
    ("sumproduct", "=SUMPRODUCT(Inputs!$A$1:$D$1,Inputs!$A$1:$D$1)", 3000),
    ("sumproduct_flag", "=SUMPRODUCT((Inputs!$A$1:$D$1>15)*Inputs!$A$1:$D$1)", 90),
    (
        "if_and_isnumber",
        '=IF(AND(ISNUMBER(Inputs!B3),Inputs!B3>1),"yes","no")',
        "yes",
    ),
    ("isnumber_text", "=ISNUMBER(Inputs!C3)", False),
    ("concatenation", '="cost: "&ROUND(rate,2)&" USD"', "cost: 1.23 USD"),
    ("text_format", '=TEXT(1234.5,"0.00")', "1234.50"),
    ("min_max", "=MIN(Inputs!$A$1:$D$1)+MAX(Inputs!$A$1:$D$1)", 50),
    ("iferror", "=IFERROR(1/0,-1)", -1),
    ("error_value", "=1/0", "#DIV/0!"),
    ("boolean", "=Inputs!A1<Inputs!B1", True),
    ("million_literal", "=2*1000000", 2000000),
]


@pytest.fixture(scope="module", params=ENGINES)
def function_values(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    """Recalculate one workbook holding every case (one engine run each)."""
    engine: str = request.param
    require_engine(engine)
    path = tmp_path_factory.mktemp(f"functions-{engine}") / "functions.xlsx"
    book = xlsxwriter.Workbook(path)
    inputs = book.add_worksheet("Inputs")
    calc = book.add_worksheet("Calc")
    inputs.write_row("A1", [10, 30, 20, 40])
    inputs.write_column("A3", ["a", "b", "c"])
    inputs.write("B3", 1.23456)
    inputs.write_string("C3", "x")
    book.define_name("rate", "=Inputs!$B$3")
    book.define_name("row_vals", "=Inputs!$A$1:$D$1")
    for row, (_, formula, _) in enumerate(FUNCTION_CASES):
        calc.write_formula(row, 0, formula, None, WRONG)
    book.close()
    return recalculated_values(path, engine, timeout=120)["Calc"]


@pytest.mark.parametrize(
    ("row", "formula", "expected"),
    [
        (row, formula, expected)
        for row, (_, formula, expected) in enumerate(FUNCTION_CASES, start=1)
    ],
    ids=[case[0] for case in FUNCTION_CASES],
)
def test_function_is_recalculated(
    function_values: dict[str, object], row: int, formula: str, expected: object
) -> None:
    """Each engine computes the case's formula to the expected value."""
    actual = function_values.get(f"A{row}")
    assert isinstance(actual, bool) == isinstance(expected, bool), (formula, actual)
    assert isinstance(actual, str) == isinstance(expected, str), (formula, actual)
    if isinstance(expected, float):
        assert isinstance(actual, (int, float)), (formula, actual)
        assert math.isclose(actual, expected, rel_tol=1e-12), (formula, actual)
    else:
        assert actual == expected, (formula, actual)


@pytest.fixture(scope="module")
def quirks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    """Recalculate the engine-quirk workbook with every installed engine."""
    path = tmp_path_factory.mktemp("quirks") / "quirks.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("Calc")
    sheet.write_row("A1", [10, 30, 20, 40])
    sheet.write_formula("A2", "=INDEX($A$1:$D$1,3)", None, WRONG)
    sheet.write_formula("A3", "=1/3", None, WRONG)
    sheet.write_formula("A4", '=""', None, WRONG)
    sheet.write_formula("A5", '="n="&(1/3)', None, WRONG)
    book.close()
    return {
        engine: recalculated_values(path, engine, timeout=120)["Calc"]
        for engine in available_engines()
    }


@pytest.mark.parametrize("engine", ENGINES)
def test_index_with_one_index_on_a_row(
    engine: str, quirks: dict[str, dict[str, object]]
) -> None:
    """Pins SPEC "Known pitfalls": Gnumeric's INDEX(row, n) is #REF!."""
    require_engine(engine)
    expected = "#REF!" if engine == "gnumeric" else 20
    assert quirks[engine]["A2"] == expected


@pytest.mark.parametrize("engine", ENGINES)
def test_numbers_keep_15_significant_digits(
    engine: str, quirks: dict[str, dict[str, object]]
) -> None:
    """LibreOffice saves 15 significant digits; compare with rel_tol, not ==."""
    require_engine(engine)
    value = quirks[engine]["A3"]
    assert isinstance(value, float)
    assert math.isclose(value, 1 / 3, rel_tol=1e-14)
    if engine == "libreoffice":
        assert value == 0.333333333333333


@pytest.mark.parametrize("engine", ENGINES)
def test_empty_string_result_is_left_out(
    engine: str, quirks: dict[str, dict[str, object]]
) -> None:
    """A formula giving "" counts as empty for both engines."""
    require_engine(engine)
    assert "A4" not in quirks[engine]


@pytest.mark.parametrize("engine", ENGINES)
def test_unrounded_number_in_text_differs_between_engines(
    engine: str, quirks: dict[str, dict[str, object]]
) -> None:
    """Concatenate ROUNDed numbers: unrounded digits differ per engine."""
    require_engine(engine)
    text = quirks[engine]["A5"]
    assert isinstance(text, str) and text.startswith("n=0.333333333333333")
    if engine == "libreoffice":
        assert text == "n=0.333333333333333"
    else:
        assert len(text) > len("n=0.333333333333333")


# --- bad input -------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_text_file_is_not_a_workbook(engine: str, tmp_path: Path) -> None:
    """A text file named .xlsx is rejected before any engine reads it as CSV."""
    bad = tmp_path / "notes.xlsx"
    bad.write_text("provider,rate\nacme,0.5\n")
    with pytest.raises(EngineError, match="not an xlsx workbook"):
        recalculated_values(bad, engine, timeout=60)


@pytest.mark.parametrize("engine", ENGINES)
def test_package_without_workbook_fails_fast(engine: str, tmp_path: Path) -> None:
    """A zip that passes the quick check but holds no workbook: error, no hang."""
    require_engine(engine)
    bad = tmp_path / "empty.xlsx"
    with zipfile.ZipFile(bad, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
    started = time.monotonic()
    with pytest.raises(EngineError, match=engine):
        recalculated_values(bad, engine, timeout=60)
    assert time.monotonic() - started < 60


def test_unknown_engine_is_a_value_error(stale: Path) -> None:
    """Engine names are checked against ENGINES."""
    with pytest.raises(ValueError, match="expected one of libreoffice, gnumeric"):
        recalculated_values(stale, "excel")


def test_out_path_must_differ_from_input(stale: Path) -> None:
    """recalculate_to refuses to overwrite its own input."""
    with pytest.raises(ValueError, match="must differ"):
        recalculate_to(stale, "gnumeric", stale)


def test_missing_input_file(tmp_path: Path) -> None:
    """A path that does not exist is FileNotFoundError, as for open()."""
    with pytest.raises(FileNotFoundError):
        recalculated_values(tmp_path / "nope.xlsx", "gnumeric")


# --- engine missing, hanging, crashing, silent ----------------------------

_FAKE_NAMES = {"libreoffice": "soffice", "gnumeric": "ssconvert"}


def _fake_engine(
    monkeypatch: pytest.MonkeyPatch, folder: Path, engine: str, script: str
) -> None:
    """Make PATH hold only a shell script standing in for ``engine``."""
    folder.mkdir()
    fake = folder / _FAKE_NAMES[engine]
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(folder))


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_not_installed(
    engine: str, stale: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No executable on PATH: EngineError saying so, and no engine listed."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert available_engines() == []
    with pytest.raises(EngineError, match=f"^{engine} is not installed: no "):
        recalculated_values(stale, engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_timeout_kills_the_process_group(
    engine: str, stale: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hanging engine is killed with its children once the timeout passes."""
    pid_file = tmp_path / "child.pid"
    # /bin/sleep by absolute path: PATH holds only the fake engine.
    script = f"/bin/sleep 60 &\necho $! > {pid_file}\nwait\n"
    _fake_engine(monkeypatch, tmp_path / "bin", engine, script)
    started = time.monotonic()
    with pytest.raises(EngineError, match=f"^{engine} timed out after 1 s on "):
        recalculated_values(stale, engine, timeout=1)
    assert time.monotonic() - started < 10
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the engine's child process survived the timeout"


@pytest.mark.parametrize("engine", ENGINES)
def test_cancel_kills_the_process_group(
    engine: str, stale: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Setting ``cancel`` from another thread stops the engine and its children."""
    pid_file = tmp_path / "child.pid"
    script = f"/bin/sleep 60 &\necho $! > {pid_file}\nwait\n"
    _fake_engine(monkeypatch, tmp_path / "bin", engine, script)
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        recalculate_to(stale, engine, tmp_path / "out.xlsx", 60, cancel=cancel)
    assert time.monotonic() - started < 10
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the engine's child process survived the cancel"
    assert not (tmp_path / "out.xlsx").exists()


def _alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie awaiting its reaper counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as proc_stat:
            return proc_stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: fall back to signal 0
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


@pytest.mark.parametrize("engine", ENGINES)
def test_crash_reports_exit_status_and_stderr(
    engine: str, stale: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A non-zero exit is an EngineError with the status and last stderr line."""
    _fake_engine(monkeypatch, tmp_path / "bin", engine, "echo boom >&2\nexit 3\n")
    with pytest.raises(EngineError, match=r"failed on stale\.xlsx \(exit status 3\)"):
        recalculated_values(stale, engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_no_output_is_an_error(
    engine: str, stale: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An engine that exits 0 without writing a file is an EngineError."""
    script = "echo 'Error: source file could not be loaded' >&2\nexit 0\n"
    _fake_engine(monkeypatch, tmp_path / "bin", engine, script)
    with pytest.raises(EngineError) as caught:
        recalculated_values(stale, engine)
    assert str(caught.value) == (
        f"{engine} produced no output for stale.xlsx: "
        "Error: source file could not be loaded"
    )
    assert "\n" not in str(caught.value)


# --- the CI rule of tests/engines.py ---------------------------------------


@pytest.mark.parametrize(("ci", "outcome"), [("true", "fail"), (None, "skip")])
def test_missing_engine_fails_on_ci_and_skips_elsewhere(
    ci: str | None, outcome: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """require_engine fails the test when CI=true, else skips it."""
    monkeypatch.setenv("PATH", str(tmp_path))
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    expected = pytest.fail.Exception if outcome == "fail" else pytest.skip.Exception
    with pytest.raises(expected, match="'gnumeric' is not installed"):
        require_engine("gnumeric")
