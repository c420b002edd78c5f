"""The bench command runs on a small size and reports every figure.

Nothing here is timed: the figures depend on the machine. The test checks
that ``bench/run.py --quick`` finishes, prints a line for every figure of
issue 7 with its target, and writes the table as valid JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Every figure of the --quick table: the 250-row book stands in for the
#: full LiteLLM one, and growth is measured from 63 to 250 rows.
BOOK_FIGURES = (
    "build.seconds",
    "build.peak_mb",
    "rebuild.seconds",
    "floor.seconds",
    "build_over_floor",
    "floor_raw.seconds",
    "build_over_floor_raw",
    "peer.seconds",
    "build_over_peer",
    "recalc.seconds",
    "recalc.peak_mb",
    "verify.seconds",
    "verify.peak_mb",
    "verify.agrees",
)
QUICK_IDS = (
    [f"default.{name}" for name in BOOK_FIGURES]
    + [f"rows-250.{name}" for name in BOOK_FIGURES]
    + [
        "growth.rows-63.build.seconds",
        "growth.rows-63.build.peak_mb",
        "growth.rows-250.build.seconds",
        "growth.rows-250.build.peak_mb",
        "growth.ratio",
    ]
)
#: Figures with a target of issue 7, and the target they are held to.
TARGETS = {
    "default.build.seconds": "<= 1.5 s",
    "rows-250.build.seconds": "<= 15 s",
    "rows-250.build.peak_mb": "<= 500 MB",
    "rows-250.build_over_floor": "<= 1.5x",
    "rows-250.build_over_floor_raw": "<= 1.5x",
    "rows-250.recalc.seconds": "<= 60 s",
    "rows-250.verify.seconds": "<= 1.3 x",
    "growth.ratio": "<= 4.5x",
}


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    """Run ``bench/run.py --quick --runs 1`` once; its stdout and its JSON."""
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--runs", "1", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    written = list(out.glob("*.json"))
    assert len(written) == 1, written
    return done.stdout, json.loads(written[0].read_text(encoding="utf-8"))


def test_quick_bench_reports_every_figure(quick: tuple[str, dict]) -> None:
    """Every figure of issue 7 is in the JSON, in order, once."""
    _, result = quick
    assert [f["id"] for f in result["figures"]] == QUICK_IDS


def test_quick_bench_prints_every_figure_with_its_target(
    quick: tuple[str, dict],
) -> None:
    """Each figure has a line in the printed table with its value and target."""
    stdout, result = quick
    lines = stdout.splitlines()
    for figure in result["figures"]:
        line = next((x for x in lines if x.startswith(figure["label"] + " ")), None)
        assert line is not None, f"no line for {figure['label']!r}"
        assert figure["shown"] in line
        assert figure["target"] in line
        assert figure["status"] in ("", "PASS", "FAIL", "SKIP")
        if figure["status"]:
            assert line.split()[-1] == figure["status"]


def test_quick_bench_holds_figures_to_the_issue_targets(
    quick: tuple[str, dict],
) -> None:
    """The targets of issue 7 stand beside their figures, marked PASS or FAIL."""
    _, result = quick
    figures = {f["id"]: f for f in result["figures"]}
    for ident, target in TARGETS.items():
        assert figures[ident]["target"].startswith(target), ident
        assert figures[ident]["status"] in ("PASS", "FAIL", "SKIP"), ident


def test_quick_bench_json_records_the_machine_and_the_runs(
    quick: tuple[str, dict],
) -> None:
    """The JSON names the machine and versions, and keeps each run's measures."""
    _, result = quick
    machine = result["machine"]
    for key in ("host", "cores", "memory_mb", "cpu", "python", "xlsxwriter"):
        assert machine.get(key), key
    assert "libreoffice" in machine and "pandas" in machine
    assert result["settings"]["quick"] is True
    assert result["settings"]["runs"] == 1
    build = next(f for f in result["figures"] if f["id"] == "default.build.seconds")
    assert len(build["runs"]) == 1
    run = build["runs"][0]
    assert run["exit"] == 0
    assert run["seconds"] > 0 and run["peak_mb"] > 0
    assert set(result["books"]) == {"default", "rows-63", "rows-250"}


def test_quick_bench_floor_writes_the_same_file_as_build(
    quick: tuple[str, dict],
) -> None:
    """The floor's workbook has the same parts as the build's (dates aside)."""
    _, result = quick
    assert result["floor_differs"] == {
        "default.floor": [],
        "default.floor_raw": [],
        "rows-250.floor": [],
        "rows-250.floor_raw": [],
    }


def test_bench_with_a_missing_price_map_says_so_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "bench/run.py", "--litellm", str(tmp_path / "none.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        f"bench: {tmp_path / 'none.json'}: no such file"
    )
    assert "Traceback" not in done.stderr
