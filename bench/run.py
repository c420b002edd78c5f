"""Measure infercost on this machine against the targets of issue 7.

    python bench/run.py                 # the whole bench, median of 3 runs
    python bench/run.py --runs 5        # median of 5
    python bench/run.py --quick         # small sizes, 1 run (what the tests run)
    python bench/run.py --profile       # also cProfile one build of the big book

Every figure is a whole separate process (start-up included), run ``--runs``
times; the median is reported. Each process runs under ``bench/measure.py``,
which measures it alone: wall time, peak memory (its own maximum resident set
size from ``os.wait4``, including the children it waited for, such as
soffice) and CPU time (user + system, shown beside each time: on a shared
machine it moves less than wall time). Each run has a timeout (``--timeout``,
default 30 minutes); a run that exceeds it is killed with everything it
started, and its figure is reported as a FAIL, as is a run that fails.

What is measured, each book built from pricebook YAML made once in a work
directory (``--work``, default a temporary one):

- ``default``: the February 2026 reference book (``pricebooks/2026-02-21.yaml``);
- ``litellm``: every row the LiteLLM import takes from
  ``data/litellm_model_prices.json`` (LiteLLM's price map, kept in the
  repository), with
  the scenarios of ``templates/ungated-scenarios.yaml`` and a 60-month
  forecast;
- ``rows-250``, ``rows-1000``, ``rows-4000``: the first rows of that import
  (repeated with new ids past its end), same scenarios and forecast.

For ``default`` and ``litellm``: ``infercost build``; the floor
(``bench/floor.py``, bare XlsxWriter writing the same cells from a plan laid
out beforehand; its time excludes reading that plan) run side by side with
build, twice: with XlsxWriter's default settings, and with its rewriting of
formulas off, as build writes them (``--raw-formulas``); build is held to
1.5 times each; the peer (``bench/peer.py``, pandas ``to_excel`` of the same tables,
values only); LibreOffice's full recalculation of the built workbook
(``generator.engine.recalculate_to``, timed around the soffice conversion);
and ``infercost verify --engine libreoffice``. For the ``rows-*`` books,
``infercost build`` only, for the growth from 1,000 to 4,000 rows.

``--quick`` (for the tests) measures once: the default book without
LibreOffice, and a 250-row book with a 6-month forecast in place of the
LiteLLM one; growth from 63 to 250 rows. Its figures say nothing about the
targets.

infercost's modules are compiled to bytecode before anything is timed, as
an installed program's are (``pip install`` compiles them; an editable
install under ``PYTHONDONTWRITEBYTECODE`` would otherwise compile them at
every run, which XlsxWriter, installed by pip, never pays).

Linux only (``/proc``, ``os.fork``); LibreOffice figures are skipped without
``soffice``, the peer without pandas (``pip install -e '.[bench]'``).

The table goes to stdout, progress to stderr, and the table as JSON, with the
machine it ran on, to ``bench/results/<date>-<host>.json`` (``--out`` names
another directory or a ``.json`` file).
"""

from __future__ import annotations

import argparse
import compileall
import datetime as dt
import functools
import gc
import hashlib
import importlib.util
import json
import os
import pickle
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
DEFAULT_BOOK = ROOT / "pricebooks" / "2026-02-21.yaml"
SCENARIOS = ROOT / "templates" / "ungated-scenarios.yaml"
LITELLM = ROOT / "data" / "litellm_model_prices.json"
PRICE_DATE = "2026-02-21"
FORECAST_MONTHS = 60
SIZES = (250, 1000, 4000)
QUICK_SIZES = (63, 250)
#: The forecast of the --quick books: short, so that the tests stay fast.
QUICK_MONTHS = 6
TIMEOUT = 30 * 60

#: The scenarios used when templates/ungated-scenarios.yaml is missing: those
#: of the reference analysis without quality gates (an imported row's tier is
#: unknown, and a gate excludes unknown rows).
FALLBACK_SCENARIOS = [
    {
        "id": "standard",
        "label": "Standard API",
        "base_tokens": 100_000_000,
        "input_share": 0.75,
        "retry_rate": 0.05,
        "guardrail_rate": 0.03,
        "cache_hit_rate": 0.15,
        "min_quality_tier": None,
        "growth_rate": 0.05,
    },
    {
        "id": "agent",
        "label": "Agent",
        "base_tokens": 1_600_000_000,
        "input_share": 0.35,
        "retry_rate": 0.15,
        "guardrail_rate": 0.10,
        "cache_hit_rate": 0.05,
        "min_quality_tier": None,
        "growth_rate": 0.05,
    },
]


# ---------------------------------------------------------------------------
# Running one process


@dataclass
class Run:
    """One whole process: wall and CPU seconds, peak memory, how it ended."""

    seconds: float
    cpu_seconds: float
    peak_mb: float
    code: int | None  # exit status; None when killed for the timeout
    stdout: str = ""
    stderr: str = ""
    load: float | None = None  # 1-minute load average when it ended

    @property
    def timed_out(self) -> bool:
        return self.code is None

    def inner(self) -> dict[str, Any]:
        """The JSON object the process printed on stdout ({} if none).

        The whole of stdout (``verify --json``), else its last line that is
        one (the floor, the peer, the recalculation).
        """
        text = self.stdout.strip()
        try:
            found = json.loads(text)
            return found if isinstance(found, dict) else {}
        except json.JSONDecodeError:
            pass
        for line in reversed(text.splitlines()):
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    return {}
        return {}


def _descendants(pid: int) -> list[int]:
    """Every live process below ``pid``, read from /proc (Linux; else [])."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def run_process(argv: list[str], timeout: float, cwd: Path = ROOT) -> Run:
    """Run ``argv`` under ``bench/measure.py`` to its end or ``timeout`` seconds.

    ``measure.py`` measures the process alone (see there). On timeout, it and
    every process below it (soffice runs in a session of its own) are killed
    by pid, and the run has ``code`` None and ``seconds`` the timeout.
    """
    with tempfile.TemporaryDirectory(prefix="infercost-run-") as tmp:
        result = Path(tmp) / "result.json"
        with (
            open(Path(tmp) / "out", "w+b") as out,
            open(Path(tmp) / "err", "w+b") as err,
        ):
            wrapper = [sys.executable, str(BENCH / "measure.py"), str(result)]
            proc = subprocess.Popen(
                wrapper + argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=cwd,
                start_new_session=True,
            )
            try:
                proc.wait(timeout)
                killed = False
            except subprocess.TimeoutExpired:
                for pid in [*_descendants(proc.pid), proc.pid]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                proc.wait()
                killed = True
            out.seek(0)
            err.seek(0)
            stdout = out.read().decode("utf-8", "replace")
            stderr = err.read().decode("utf-8", "replace")
        if killed or not result.is_file():
            measured = {"seconds": timeout, "cpu_seconds": 0.0, "peak_mb": 0.0}
            code = None if killed else proc.returncode
        else:
            measured = json.loads(result.read_text(encoding="utf-8"))
            code = measured["exit"]
    return Run(
        seconds=measured["seconds"],
        cpu_seconds=measured["cpu_seconds"],
        peak_mb=measured["peak_mb"],
        code=code,
        stdout=stdout,
        stderr=stderr,
    )


def infercost_argv() -> list[str]:
    """The command a user runs: the console script beside this Python."""
    script = Path(sys.executable).parent / "infercost"
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "generator.cli"]


# ---------------------------------------------------------------------------
# Setting up the books


@dataclass
class BookInfo:
    """A pricebook the bench builds, and what its workbook holds."""

    name: str
    pricebook: str
    providers: int
    scenarios: int
    months: int
    cells: int = 0
    formulas: int = 0
    names: int = 0
    charts: int = 0
    plan_pickle: str | None = None


@functools.cache
def litellm_import(path: Path) -> dict[str, Any]:
    """The whole LiteLLM file ``path`` as a pricebook document (imported once)."""
    from generator.litellm import import_litellm

    return import_litellm(path, price_date=PRICE_DATE).document


def litellm_document(source: Path, rows: int | None, months: int) -> dict[str, Any]:
    """The LiteLLM import with ungated scenarios and a ``months`` forecast.

    ``rows`` None: every imported row; else the first ``rows``, repeating the
    import with new ids (``r2_...``) when it has fewer.
    """
    import yaml

    imported = litellm_import(source)
    providers = imported["providers"]
    if rows is not None:
        out: list[dict[str, Any]] = []
        copy = 1
        while len(out) < rows:
            for row in providers[: rows - len(out)]:
                if copy > 1:
                    row = {
                        **row,
                        "id": f"r{copy}_{len(out)}_{row['id']}"[:40],
                        "label": f"{row['label']} (copy {copy})",
                    }
                out.append(row)
            copy += 1
        providers = out
    if SCENARIOS.is_file():
        scenarios = yaml.safe_load(SCENARIOS.read_text(encoding="utf-8"))["scenarios"]
    else:
        scenarios = FALLBACK_SCENARIOS
    return {
        **imported,
        "providers": providers,
        "scenarios": scenarios,
        "forecast": {"months": months},
    }


def write_book(
    name: str, source: Path, rows: int | None, months: int, work: Path
) -> Path:
    """Write the pricebook ``name``.yaml from the LiteLLM file ``source``."""
    from generator.litellm import dump_pricebook_yaml

    path = work / f"{name}.yaml"
    document = litellm_document(source, rows, months)
    path.write_text(dump_pricebook_yaml(document), encoding="utf-8")
    return path


def flatten_plan(plan: Any) -> dict[str, Any]:
    """The plan as plain data: the XlsxWriter calls ``infercost build`` makes.

    Mirrors ``generator.writer`` (formats, the cached value of each formula,
    chart caches, page setup, protection), so that ``bench/floor.py`` writes
    the same file without importing infercost.
    """
    from generator import writer
    from generator.plan import FORMULA, INPUT, NA, ref

    styles: dict[str, int] = {}
    formats: list[dict[str, Any]] = []

    def fmt(style: str) -> int:
        if style not in styles:
            styles[style] = len(formats)
            formats.append(writer._Formats._props(style))
        return styles[style]

    sheets = []
    for sheet in plan.sheets:
        cells: list[tuple[Any, ...]] = []
        # Rows of wrapped headings are 40 points tall, set before their cells.
        wrapped = {r for (r, _), c in sheet.cells.items() if c.style == "header_wrap"}
        for (row, col), cell in sorted(sheet.cells.items()):
            if row in wrapped:
                cells.append((row, 0, "r", 40, None, 0))
                wrapped.discard(row)
            value = cell.value
            if cell.kind == FORMULA:
                cached = value
                if isinstance(value, NA):
                    cached = "#N/A"
                elif value is None:
                    cached = ""
                item = (row, col, "f", "=" + cell.formula, cached)
            elif cell.kind == INPUT:
                if value is None or value == "":
                    item = (row, col, "_", None, None)
                elif isinstance(value, bool):
                    item = (row, col, "b", value, None)
                elif isinstance(value, (int, float)):
                    item = (row, col, "n", value, None)
                else:
                    item = (row, col, "s", str(value), None)
            else:
                text = "" if value is None else str(value)
                if cell.style == "url" and writer._is_web_url(text):
                    item = (row, col, "u", text, None)
                elif text == "":
                    item = (row, col, "_", None, None)
                else:
                    item = (row, col, "s", text, None)
            cells.append((*item, fmt(cell.style)))
        sheets.append(
            {
                "title": sheet.title,
                "widths": list(sheet.widths.items()),
                "cells": cells,
                "validations": [
                    (v.first_row, v.first_col, v.last_row, v.last_col, v.options)
                    for v in sheet.validations
                ],
                "scales": writer.conditional_formats(sheet),
                "freeze": sheet.freeze,
                "repeat_rows": (
                    sheet.freeze[0] - 1
                    if sheet.freeze and 0 < sheet.freeze[0] <= writer.REPEAT_ROWS_MAX
                    else None
                ),
                "hidden": sheet.hidden,
            }
        )
    charts = []
    breaks: dict[str, set[int]] = {}
    for chart in plan.charts:
        series_list = []
        for series in chart.series:
            series = dict(series)
            for key in ("categories", "values"):
                where = series.get(key)
                if isinstance(where, list) and f"{key}_data" not in series:
                    series[f"{key}_data"] = writer._chart_cache(
                        plan, where, key == "values"
                    )
            series_list.append(series)
        calls = []
        insert: dict[str, Any] = {}
        for key, value in chart.options.items():
            if key == "insert":
                insert = value
            elif key == "page_break":
                if value:
                    from xlsxwriter.utility import xl_cell_to_rowcol

                    row = xl_cell_to_rowcol(chart.anchor)[0]
                    breaks.setdefault(chart.sheet, set()).add(row)
            else:
                calls.append((key, value))
        charts.append(
            {
                "sheet": chart.sheet,
                "anchor": chart.anchor,
                "type": chart.type,
                "series": series_list,
                "calls": calls,
                "insert": insert,
            }
        )
    header = plan.header.replace("&", "&&")
    return {
        "options": {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "use_future_functions": False,
            "constant_memory": True,
        },
        "properties": {**plan.properties, "author": "infercost"},
        "formats": formats,
        "sheets": sheets,
        "names": [
            (name, "=" + ref(title, row, col, True, True))
            for name, (title, row, col) in sorted(plan.names().items())
        ],
        "charts": charts,
        "page_breaks": [(title, sorted(rows)) for title, rows in breaks.items()],
        "gridlines": 1,  # hide_gridlines(1): on screen, not on paper
        "header": f"&L{header}&R&A",
        "footer": "&Lbuilt by infercost&RPage &P of &N",
        "protection": {
            "format_columns": True,
            "format_rows": True,
            "select_locked_cells": True,
            "select_unlocked_cells": True,
        },
    }


def describe(name: str, pricebook: Path, work: Path, floor: bool) -> BookInfo:
    """Load and lay out ``pricebook`` (not timed); pickle its flat plan."""
    from generator.layout import build_plan
    from generator.plan import FORMULA
    from generator.pricebook import load_book

    book = load_book([pricebook])
    plan = build_plan(book)
    info = BookInfo(
        name,
        str(pricebook),
        len(book.providers),
        len(book.scenarios),
        book.forecast_months,
        cells=sum(len(s.cells) for s in plan.sheets),
        formulas=sum(
            1 for s in plan.sheets for c in s.cells.values() if c.kind == FORMULA
        ),
        names=len(plan.names()),
        charts=len(plan.charts),
    )
    if floor:
        target = work / f"{name}.plan.pickle"
        with open(target, "wb") as handle:
            pickle.dump(flatten_plan(plan), handle, protocol=pickle.HIGHEST_PROTOCOL)
        info.plan_pickle = str(target)
    del plan, book
    gc.collect()
    return info


# ---------------------------------------------------------------------------
# Figures


@dataclass
class Figure:
    """One line of the table: a median, or a ratio of two, against a target."""

    id: str
    label: str
    value: float | None = None
    unit: str = "s"  # s, MB, x (a ratio) or "" (a yes/no, said in ``note``)
    target: str = ""
    status: str = ""  # PASS, FAIL, SKIP, or "" when there is no target
    note: str = ""  # why there is no value, or the yes/no
    cpu: float | None = None  # median CPU seconds (user + system) of a time
    runs: list[dict[str, Any]] = field(default_factory=list)

    def shown(self) -> str:
        if self.value is None:
            note = self.note or "n/a"
            return note if len(note) <= 60 else note[:57] + "..."
        if self.unit == "x":
            return f"{self.value:.2f}x"
        if self.unit == "MB":
            return f"{self.value:,.0f} MB"
        return f"{self.value:,.2f} s"

    def judge(self, limit: float | None, target: str) -> None:
        """Set the target text and PASS/FAIL (SKIP when not measured on purpose)."""
        if limit is None and not target:
            return
        self.target = target
        if self.value is None:
            self.status = "SKIP" if self.note.startswith("skipped") else "FAIL"
        else:
            self.status = "PASS" if limit is None or self.value <= limit else "FAIL"


class Bench:
    """Runs the processes, keeps every run, and makes the figures."""

    def __init__(self, runs: int, timeout: float, work: Path) -> None:
        self.runs = runs
        self.timeout = timeout
        self.work = work
        self.results: dict[tuple[str, str], list[Run]] = {}
        #: (book, what) -> why it has no figure: "timeout (...)", "exit 2: ...",
        #: "skipped (...)".
        self.failed: dict[tuple[str, str], str] = {}
        self.books: dict[str, BookInfo] = {}
        self.has_lo = bool(shutil.which("soffice") or shutil.which("libreoffice"))

    def say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def output(self, book: str, what: str) -> Path:
        return self.work / f"{book}.{what}.xlsx"

    def argv(self, book: str, what: str) -> list[str]:
        """The command of one run; ``what`` is build, floor, peer, recalc, verify."""
        info = self.books[book]
        built = str(self.output(book, "build"))
        out = str(self.output(book, what))
        if what in ("build", "rebuild"):
            return [*infercost_argv(), "-q", "build", info.pricebook, "-o", built]
        if what in ("floor", "floor_raw"):
            raw = ["--raw-formulas"] if what == "floor_raw" else []
            floor = [sys.executable, str(BENCH / "floor.py"), *raw]
            return [*floor, str(info.plan_pickle), out]
        if what == "peer":
            return [sys.executable, str(BENCH / "peer.py"), info.pricebook, out]
        if what == "recalc":
            return [sys.executable, "-c", RECALC, built, out, str(self.timeout)]
        if what == "verify":
            return [
                *infercost_argv(),
                "-q",
                "verify",
                built,
                "--engine",
                "libreoffice",
                "--timeout",
                str(self.timeout),
                "--json",
            ]
        raise ValueError(what)

    def skip(self, book: str, whats: tuple[str, ...], why: str) -> None:
        for what in whats:
            self.failed[(book, what)] = f"skipped ({why})"

    def once(self, book: str, what: str, index: int) -> None:
        """Run ``what`` on ``book`` once more, unless an earlier run failed."""
        key = (book, what)
        if key in self.failed:
            return
        if what in ("recalc", "verify"):
            if not self.has_lo:
                self.failed[key] = "skipped (no LibreOffice)"
                return
            if not self.output(book, "build").is_file():
                self.failed[key] = "no workbook (build failed)"
                return
        if what == "build":  # a fresh build; "rebuild" writes over its file
            self.output(book, "build").unlink(missing_ok=True)
        run = run_process(self.argv(book, what), self.timeout)
        loads = load_average()
        run.load = loads[0] if loads else None
        ok = run.code == 0 or (what == "verify" and run.code == 1)
        if run.timed_out:
            self.failed[key] = f"timeout (> {self.timeout:g} s)"
        elif not ok:
            last = (run.stderr.strip().splitlines() or ["no message"])[-1]
            self.failed[key] = f"exit {run.code}: {last[:200]}"
        self.results.setdefault(key, []).append(run)
        state = self.failed.get(key, f"{run.seconds:.2f} s, {run.peak_mb:.0f} MB")
        self.say(f"  {what:<6} {book:<10} run {index + 1}/{self.runs}: {state}")

    def measure(self, book: str, whats: tuple[str, ...]) -> None:
        """Each of ``whats`` ``runs`` times, interleaved (side by side)."""
        for index in range(self.runs):
            for what in whats:
                self.once(book, what, index)

    # -- figures ------------------------------------------------------------

    def seconds(self, book: str, what: str) -> float | None:
        """The median seconds of ``what``, None when any run failed."""
        runs = self.results.get((book, what), [])
        if (book, what) in self.failed or not runs:
            return None
        if what.startswith("floor"):  # reading the pickled plan is not writing
            values = [r.seconds - r.inner().get("load_seconds", 0.0) for r in runs]
        elif what == "recalc":  # the soffice conversion, not Python's start
            values = [r.inner().get("recalc_seconds", r.seconds) for r in runs]
        else:
            values = [r.seconds for r in runs]
        return statistics.median(values)

    def peak(self, book: str, what: str) -> float | None:
        runs = self.results.get((book, what), [])
        if (book, what) in self.failed or not runs:
            return None
        return statistics.median(r.peak_mb for r in runs)

    def figure(
        self,
        book: str,
        what: str,
        label: str,
        limit: float | None = None,
        memory: bool = False,
        prefix: str = "",
    ) -> Figure:
        value = self.peak(book, what) if memory else self.seconds(book, what)
        unit = "MB" if memory else "s"
        fig = Figure(
            f"{prefix}{book}.{what}.{'peak_mb' if memory else 'seconds'}",
            label,
            value,
            unit,
            note=self.failed.get((book, what), ""),
            runs=[_run_json(r) for r in self.results.get((book, what), [])],
        )
        runs = self.results.get((book, what), [])
        if not memory and value is not None:
            fig.cpu = statistics.median(r.cpu_seconds for r in runs)
        fig.judge(limit, f"<= {limit:g} {unit}" if limit is not None else "")
        return fig

    def verify_result(self, book: str, label: str) -> Figure:
        """PASS when every verify run found the engine and the model agree."""
        runs = self.results.get((book, "verify"), [])
        fig = Figure(f"{book}.verify.agrees", label, unit="")
        if (book, "verify") in self.failed or not runs:
            fig.note = self.failed.get((book, "verify"), "not run")
            fig.judge(None, "agree")
            return fig
        inner = runs[-1].inner()
        findings = inner.get("findings", [])
        errors = [f for f in findings if f.get("severity") == "error"]
        if not engine_ran(runs[-1]):
            first = errors[0].get("message", "") if errors else ""
            fig.note = f"no: LibreOffice not run, verify stopped at: {first}"
            fig.status = "FAIL"
        elif all(r.code == 0 for r in runs):
            fig.note = f"yes, {inner.get('formulas', 0):,} formulas"
            fig.status = "PASS"
        else:
            first = errors[0] if errors else {}
            where = f"{first.get('sheet') or ''}!{first.get('cell') or ''}"
            fig.note = (
                f"no: {len(errors):,} errors, first {first.get('kind', '?')} "
                f"{where.strip('!')}: {first.get('message', '')}"
            )
            fig.status = "FAIL"
        fig.target = "agree"
        return fig


def package_differences(first: Path, second: Path) -> list[str]:
    """The parts of two xlsx files that differ (their timestamps aside)."""
    import zipfile

    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        names = sorted(set(a.namelist()) | set(b.namelist()))
        return [
            name
            for name in names
            if name != "docProps/core.xml"
            and (
                name not in a.namelist()
                or name not in b.namelist()
                or a.read(name) != b.read(name)
            )
        ]


def engine_ran(run: Run) -> bool:
    """Whether ``verify --json`` recalculated (it stops at bad inputs)."""
    return bool(run.inner().get("engine_seconds"))


#: One LibreOffice recalculation, timed around the soffice conversion.
RECALC = """\
import json, sys, time
from generator.engine import recalculate_to
start = time.perf_counter()
recalculate_to(sys.argv[1], "libreoffice", sys.argv[2], float(sys.argv[3]))
print(json.dumps({"recalc_seconds": time.perf_counter() - start}))
"""


def _run_json(run: Run) -> dict[str, Any]:
    """One run for the JSON file: its measures and what it said about itself."""
    data: dict[str, Any] = {
        "seconds": round(run.seconds, 4),
        "cpu_seconds": round(run.cpu_seconds, 4),
        "peak_mb": round(run.peak_mb, 1),
        "exit": run.code,
        "load": run.load,
    }
    inner = run.inner()
    keep = (
        "load_seconds",
        "compute_seconds",
        "write_seconds",
        "recalc_seconds",
        "engine",
        "cells",
        "seconds",
        "engine_seconds",
        "formulas",
        "ok",
    )
    if inner:
        data["inner"] = {k: inner[k] for k in keep if k in inner}
        if isinstance(inner.get("findings"), list):
            data["inner"]["findings"] = len(inner["findings"])
    return data


def ratio(
    ident: str,
    label: str,
    top: float | None,
    bottom: float | None,
    limit: float | None = None,
) -> Figure:
    """``top / bottom``; no value when either is missing."""
    value = None if top is None or not bottom else top / bottom
    fig = Figure(ident, label, value, "x", note="" if value else "not measured")
    fig.judge(limit, f"<= {limit:g}x" if limit is not None else "")
    return fig


def book_figures(bench: Bench, book: str, label: str, big: bool) -> list[Figure]:
    """The figures of one book; the issue's targets apply to the big book."""
    build = bench.seconds(book, "build")
    recalc = bench.seconds(book, "recalc")
    verify = bench.figure(book, "verify", f"{label}: verify (LibreOffice)")
    verify_runs = bench.results.get((book, "verify"), [])
    if verify.value is not None and not all(map(engine_ran, verify_runs)):
        # Fast because it never recalculated: not a verify time.
        verify.note = "LibreOffice not run: verify stopped at the inputs"
        verify.value = verify.cpu = None
    if big:
        if recalc is not None and build is not None:
            limit = 1.3 * recalc + build
            verify.judge(limit, f"<= 1.3 x {recalc:.1f} + {build:.1f} = {limit:.1f} s")
        else:
            verify.judge(None, "<= 1.3 x recalculation + build")
            verify.status = "FAIL"
    return [
        bench.figure(
            book, "build", f"{label}: build (start-up included)", 15 if big else 1.5
        ),
        bench.figure(
            book,
            "build",
            f"{label}: build peak memory",
            500 if big else None,
            memory=True,
        ),
        bench.figure(book, "rebuild", f"{label}: build over the previous workbook"),
        bench.figure(book, "floor", f"{label}: floor (bare XlsxWriter)"),
        ratio(
            f"{book}.build_over_floor",
            f"{label}: build / floor",
            build,
            bench.seconds(book, "floor"),
            1.5 if big else None,
        ),
        bench.figure(book, "floor_raw", f"{label}: floor, formulas not rewritten"),
        ratio(
            f"{book}.build_over_floor_raw",
            f"{label}: build / floor, formulas not rewritten",
            build,
            bench.seconds(book, "floor_raw"),
            # The like-for-like floor (build skips the rewriting too): held
            # to the same target as the floor of XlsxWriter's defaults.
            1.5 if big else None,
        ),
        bench.figure(book, "peer", f"{label}: peer (pandas to_excel)"),
        ratio(
            f"{book}.build_over_peer",
            f"{label}: build / peer",
            build,
            bench.seconds(book, "peer"),
        ),
        bench.figure(
            book,
            "recalc",
            f"{label}: LibreOffice full recalculation",
            60 if big else None,
        ),
        bench.figure(book, "recalc", f"{label}: LibreOffice peak memory", memory=True),
        verify,
        bench.figure(book, "verify", f"{label}: verify peak memory", memory=True),
        bench.verify_result(book, f"{label}: LibreOffice agrees with the model"),
    ]


def growth_figures(bench: Bench, sizes: tuple[int, ...]) -> list[Figure]:
    """Builds at each size, and the growth between the last two sizes."""
    figures = []
    for size in sizes:
        book = f"rows-{size}"
        figures.append(
            bench.figure(book, "build", f"build at {size:,} rows", prefix="growth.")
        )
        figures.append(
            bench.figure(
                book,
                "build",
                f"build peak memory at {size:,} rows",
                memory=True,
                prefix="growth.",
            )
        )
    small, large = sizes[-2], sizes[-1]
    figures.append(
        ratio(
            "growth.ratio",
            f"growth of build time, {small:,} -> {large:,} rows",
            bench.seconds(f"rows-{large}", "build"),
            bench.seconds(f"rows-{small}", "build"),
            4.5,
        )
    )
    return figures


# ---------------------------------------------------------------------------
# The machine


def _command_version(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (done.stdout.strip().splitlines() or [None])[0]


def machine() -> dict[str, Any]:
    """Cores, memory, CPU, and the versions of everything measured."""
    import xlsxwriter

    info: dict[str, Any] = {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "xlsxwriter": xlsxwriter.__version__,
    }
    if hasattr(os, "sched_getaffinity"):
        info["cores_usable"] = len(os.sched_getaffinity(0))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory_mb"] = int(line.split()[1]) // 1024
                break
    except OSError:
        pass
    try:
        import pandas

        info["pandas"] = pandas.__version__
    except ImportError:
        info["pandas"] = None
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    info["libreoffice"] = _command_version([soffice, "--version"]) if soffice else None
    commit = _command_version(["git", "-C", str(ROOT), "rev-parse", "HEAD"])
    dirty = _command_version(["git", "-C", str(ROOT), "status", "--porcelain"])
    info["commit"] = commit
    info["worktree_changed"] = bool(dirty)
    return info


def code_digest() -> str:
    """A digest of generator/*.py: the code being measured, to see it change."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "generator").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ---------------------------------------------------------------------------
# Output


def render(figures: list[Figure]) -> str:
    """The table: figure, median, its CPU seconds, target, PASS/FAIL/SKIP."""
    rows = [("figure", "measured", "cpu", "target", "")]
    for f in figures:
        cpu = "" if f.cpu is None else f"{f.cpu:,.2f} s"
        rows.append((f.label, f.shown(), cpu, f.target, f.status))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {1, 2}
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths[:-1]) + "  ----")
    return "\n".join(lines)


def result_path(out: str | None, when: dt.datetime) -> Path:
    name = f"{when:%Y-%m-%d}-{socket.gethostname()}.json"
    if out is None:
        return BENCH / "results" / name
    path = Path(out)
    return path if path.suffix == ".json" else path / name


# ---------------------------------------------------------------------------
# The command


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.py",
        description="Measure infercost against the targets of issue 7.",
    )
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per figure (default 3)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes only: default book and 250 rows, 1 run",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT,
        help="seconds any one process may take (default 1800)",
    )
    parser.add_argument(
        "--out", help="results directory or .json file (default bench/results/)"
    )
    parser.add_argument(
        "--work", help="keep pricebooks and workbooks here (default: a temp dir)"
    )
    parser.add_argument(
        "--litellm",
        type=Path,
        default=LITELLM,
        help=f"LiteLLM's price map to import (default {LITELLM})",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also cProfile one build of the big book and list the top costs",
    )
    args = parser.parse_args(argv)
    if args.runs is None:
        args.runs = 1 if args.quick else 3
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


#: The phases of a build, as functions of generator/ (cumulative time).
PHASES = ("load_book", "build_plan", "write_plan")


def profile(bench: Bench, book: str, top: int = 25) -> dict[str, Any]:
    """cProfile one build of ``book``; the top functions by own time."""
    import pstats

    stats_file = bench.work / f"{book}.prof"
    argv = [
        sys.executable,
        "-m",
        "cProfile",
        "-o",
        str(stats_file),
        "-m",
        "generator.cli",
        "-q",
        "build",
        bench.books[book].pricebook,
        "-o",
        str(bench.output(book, "profile")),
    ]
    run = run_process(argv, bench.timeout * 2)
    # cProfile swallows SystemExit: only the workbook says the build succeeded.
    built = bench.output(book, "profile").is_file()
    if run.code != 0 or not built or not stats_file.is_file():
        bench.say(f"profile failed: {run.stderr.strip()[-300:]}")
        return {"failed": run.stderr.strip()[-300:]}
    stats = pstats.Stats(str(stats_file))
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    for (filename, line, name), entry in stats.stats.items():  # type: ignore[attr-defined]
        calls, _, own, cumulative, _ = entry
        rows.append(
            {
                "function": f"{Path(filename).name}:{line}({name})",
                "calls": calls,
                "own_seconds": round(own, 3),
                "cumulative_seconds": round(cumulative, 3),
            }
        )
    phases: dict[str, float] = {}
    for (filename, _, name), entry in stats.stats.items():  # type: ignore[attr-defined]
        if name in PHASES and Path(filename).parent.name == "generator":
            phases[name] = max(phases.get(name, 0.0), entry[3])
    print(f"\ncProfile of one build of {book} ({total:.1f} s profiled):")
    print("  " + ", ".join(f"{n} {phases.get(n, 0):.1f} s" for n in PHASES))
    rows.sort(key=lambda r: -r["own_seconds"])
    print("  by own time:")
    for row in rows[:top]:
        print(
            f"  {row['own_seconds']:8.2f} s own {row['cumulative_seconds']:8.2f} s "
            f"cum {row['calls']:>9,}  {row['function']}"
        )
    return {"seconds": total, "phases": phases, "top_by_own_time": rows[:top]}


def main(argv: list[str] | None = None) -> int:
    from generator.errors import InfercostError

    args = parse(argv)
    started = dt.datetime.now()
    tmp = None
    if args.work:
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="infercost-bench-")
        work = Path(tmp.name)
    try:
        return _main(args, work, started)
    except InfercostError as exc:  # a missing or bad --litellm file, say
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    finally:
        if tmp is not None:
            tmp.cleanup()


def _main(args: argparse.Namespace, work: Path, started: dt.datetime) -> int:
    bench = Bench(args.runs, args.timeout, work)
    sizes = QUICK_SIZES if args.quick else SIZES
    months = QUICK_MONTHS if args.quick else FORECAST_MONTHS
    big = f"rows-{sizes[-1]}" if args.quick else "litellm"
    load_before = load_average()
    code_before = code_digest()

    bench.say(f"setting up in {work} (not timed)")
    compileall.compile_dir(ROOT / "generator", quiet=1)
    bench.books["default"] = describe("default", DEFAULT_BOOK, work, floor=True)
    if not args.quick:
        path = write_book("litellm", args.litellm, None, months, work)
        bench.books["litellm"] = describe("litellm", path, work, floor=True)
    for size in sizes:
        name = f"rows-{size}"
        path = write_book(name, args.litellm, size, months, work)
        bench.books[name] = describe(name, path, work, floor=name == big)
    for info in bench.books.values():
        bench.say(
            f"  {info.name}: {info.providers:,} providers, {info.months} months, "
            f"{info.cells:,} cells, {info.formulas:,} formulas"
        )

    for book in ("default", big):
        bench.say(f"measuring {book}")
        if importlib.util.find_spec("pandas") is None:
            bench.skip(book, ("peer",), "pandas not installed: pip install .[bench]")
        if args.quick and book == "default":
            bench.skip(book, ("recalc", "verify"), "--quick")
        # Each run checks the workbook its build just wrote.
        kinds = ("build", "rebuild", "floor", "floor_raw", "peer", "recalc")
        kinds += ("verify",)
        bench.measure(book, kinds)
    for size in sizes:
        book = f"rows-{size}"
        if book != big:
            bench.say(f"measuring {book}")
            bench.measure(book, ("build",))

    floor_check: dict[str, list[str]] = {}
    for book in ("default", big):
        built = bench.output(book, "build")
        for what in ("floor", "floor_raw"):
            if built.is_file() and bench.output(book, what).is_file():
                found = package_differences(built, bench.output(book, what))
                floor_check[f"{book}.{what}"] = found
                if found:
                    bench.say(
                        f"note: {what} of {book} differs from the build in "
                        f"{', '.join(found[:5])}: update flatten_plan to match "
                        "generator/writer.py"
                    )

    rows = bench.books[big].providers
    big_label = f"LiteLLM {rows:,} rows, {months} months"
    figures = book_figures(bench, "default", "default book", big=False)
    figures += book_figures(bench, big, big_label, big=True)
    figures += growth_figures(bench, sizes)
    info = machine()
    load_after = load_average()

    table = render(figures)
    failed = sum(f.status == "FAIL" for f in figures)
    print(
        f"infercost bench on {info['host']} ({info.get('cores')} cores, "
        f"{info.get('cpu', 'unknown CPU')}), median of {args.runs} run(s)"
    )
    print(table)
    print(f"\n{failed} of {sum(bool(f.status) for f in figures)} targets FAIL")
    code_after = code_digest()
    if code_after != code_before:
        print(
            "note: generator/ changed while the bench ran: figures may mix code "
            "versions (and verify then finds the formulas changed); run it again"
        )
    if load_after and info.get("cores") and load_after[0] > info["cores"]:
        print(
            f"note: load average {load_after[0]} above {info['cores']} cores: "
            "other work shared the machine; wall times are pessimistic"
        )
    top = profile(bench, big) if args.profile else None
    document = {
        "date": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": info,
        "load_average": {"before": load_before, "after": load_after},
        "code": {"before": code_before, "after": code_after},
        # The parts of the floor's file that differ from the build's ([]: none).
        "floor_differs": floor_check,
        "settings": {
            "runs": args.runs,
            "quick": args.quick,
            "timeout_seconds": args.timeout,
            "forecast_months": months,
            "litellm_file": str(args.litellm),
            "statistic": "median",
        },
        "books": {name: asdict(b) for name, b in bench.books.items()},
        "figures": [asdict(f) | {"shown": f.shown()} for f in figures],
        "table": table,
    }
    if top is not None:
        document["profile"] = top
    path = result_path(args.out, started)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
