"""Recalculate a workbook with a real spreadsheet engine and read the results.

XlsxWriter stores a cached result beside every formula (0 unless told
otherwise), and both engines trust cached results by default. This module
forces a full recalculation and returns what the engine computed:

- ``libreoffice``: ``soffice --headless --convert-to xlsx`` with a private
  profile, one per run, whose configuration sets
  ``/org.openoffice.Office.Calc/Formula/Load/OOXMLRecalcMode`` (and
  ``ODFRecalcMode``) to 0, "always recalculate on load". The default, 1,
  keeps the cached values.
- ``gnumeric``: ``ssconvert --recalc``.

Rules every run follows:

- The input is copied into a fresh temporary directory and the engine works
  on the copy: the caller's file is never opened for writing, and no lock
  file ever appears beside it.
- The input must be an xlsx package (a zip holding ``[Content_Types].xml``);
  the import filter is named explicitly, so neither engine falls back to
  reading the bytes as CSV text.
- The engine runs in its own process group with a timeout; on timeout, or if
  the caller is interrupted, the whole group is killed.
- Failure is an :class:`EngineError` with a one-line message: engine not
  installed, timeout, engine crashed (non-zero exit), engine produced no
  output, output unreadable.
- Values are read with openpyxl in read-only, data-only mode, a large
  workbook's by two processes at once (:class:`SplitRead`). Nothing is ever
  saved through openpyxl.
"""

from __future__ import annotations

import atexit
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter

from generator.errors import InfercostError
from generator.gctune import few_collections
from generator.xlsxread import load_read_only

__all__ = [
    "ENGINES",
    "Cancelled",
    "EngineError",
    "SplitRead",
    "available_engines",
    "read_cell_values",
    "read_values",
    "recalculate_to",
    "recalculated_values",
    "run_process",
]

#: Engine names, in order of preference.
ENGINES: tuple[str, ...] = ("libreoffice", "gnumeric")

#: Executables looked up on PATH for each engine, first match wins.
_BINARIES: dict[str, tuple[str, ...]] = {
    "libreoffice": ("soffice", "libreoffice"),
    "gnumeric": ("ssconvert",),
}

#: LibreOffice filter name for xlsx, used for both import and export.
_LO_XLSX_FILTER = "Calc MS Excel 2007 XML"

#: Per-run LibreOffice configuration. 0 = always recalculate on load
#: (ScRecalcOptions: 0 always, 1 never, 2 ask; the shipped default is 1).
#: The locale is pinned so number-to-text conversion does not depend on the
#: machine.
_LO_REGISTRY = """\
<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Setup/L10N">\
<prop oor:name="ooLocale" oor:op="fuse"><value>en-US</value></prop></item>
<item oor:path="/org.openoffice.Setup/L10N">\
<prop oor:name="ooSetupSystemLocale" oor:op="fuse"><value>en-US</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc">\
<prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""

#: Seconds between checks for cancellation while an engine runs.
_POLL_SECONDS = 0.2

#: stderr lines that say nothing about the failure.
_NOISE = ("Warning: failed to launch javaldx",)

#: A LibreOffice profile that has completed its first start. A brand-new
#: profile makes soffice restart itself once (exit code 81, handled by its
#: launcher), which costs about 0.15 s; copying a profile that has already
#: started avoids it. Each run still gets its own copy, so runs share no
#: state. Kept for the life of the process, removed at exit.
_template_lock = threading.Lock()
_template_profile: Path | None = None


class EngineError(InfercostError):
    """A spreadsheet engine is missing, failed, timed out or wrote nothing.

    Also raised for an input that is not an xlsx package. ``str(error)`` is
    one line naming the engine and the file; the CLI exits with status 2.
    """


def available_engines() -> list[str]:
    """Return the engines from :data:`ENGINES` whose executable is on PATH.

    LibreOffice is found as ``soffice`` or ``libreoffice``, Gnumeric as
    ``ssconvert``. Nothing is run.
    """
    return [name for name in ENGINES if _find_binary(name) is not None]


def recalculate_to(
    path: Path | str,
    engine: str,
    out_path: Path | str,
    timeout: float = 300,
    *,
    label: str | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Recalculate every formula of ``path`` with ``engine``; save to ``out_path``.

    ``engine`` is one of :data:`ENGINES`. The engine reads a private copy of
    ``path``, recalculates all formulas (cached results are ignored) and
    saves an xlsx, which is copied to ``out_path`` (parent directories are
    created; an existing file is replaced). ``out_path`` must differ from
    ``path``. ``timeout`` bounds the engine's run in seconds. ``label`` names
    the workbook in messages (default: ``path``'s file name). Setting
    ``cancel`` from another thread kills the engine and raises
    :class:`Cancelled`.

    Returns ``out_path`` as a :class:`~pathlib.Path`.

    Raises ``ValueError`` for an unknown engine name or ``out_path`` equal
    to ``path``, ``FileNotFoundError`` if ``path`` does not exist, and
    :class:`EngineError` if ``path`` is not an xlsx package, the engine is
    not installed, times out, exits non-zero or writes no file.
    """
    src = Path(path)
    dest = Path(out_path)
    if engine not in _BINARIES:
        raise ValueError(
            f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}"
        )
    if not src.is_file():
        raise FileNotFoundError(f"{src}: no such file")
    if dest.resolve() == src.resolve():
        raise ValueError(f"{dest}: out_path must differ from the input path")
    _check_xlsx(src)
    binary = _require_binary(engine)
    with tempfile.TemporaryDirectory(
        prefix=f"infercost-{engine}-", ignore_cleanup_errors=True
    ) as tmp:
        work = Path(tmp)
        (work / "in").mkdir()
        (work / "out").mkdir()
        copy = work / "in" / "workbook.xlsx"
        shutil.copyfile(src, copy)
        label = label or src.name
        if engine == "libreoffice":
            produced = _run_libreoffice(binary, copy, work, label, timeout, cancel)
        else:
            produced = _run_gnumeric(binary, copy, work, label, timeout, cancel)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(produced, dest)
    return dest


def recalculated_values(
    path: Path | str, engine: str, timeout: float = 300
) -> dict[str, dict[str, object]]:
    """Recalculate ``path`` with ``engine`` and return every non-empty value.

    The result maps each worksheet title to ``{"A1": value}`` for every cell
    whose recalculated value is not empty, as :func:`read_values` reads
    them. The recalculated file lives in a temporary directory and is
    deleted. Raises as :func:`recalculate_to` does, and :class:`EngineError`
    if the engine's output cannot be read.
    """
    with tempfile.TemporaryDirectory(
        prefix="infercost-values-", ignore_cleanup_errors=True
    ) as tmp:
        out = recalculate_to(path, engine, Path(tmp) / "recalculated.xlsx", timeout)
        try:
            return read_values(out)
        except Exception as exc:  # openpyxl raises many types on bad input
            raise EngineError(
                f"{engine} wrote an unreadable workbook for {Path(path).name}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc


def read_values(path: Path | str) -> dict[str, dict[str, object]]:
    """Return the stored values of ``path`` without recalculating anything.

    For each worksheet (chart sheets are skipped), in workbook order:
    ``{"A1": value}`` for every non-empty cell. A formula cell gives its
    cached result, which is only as good as the program that saved the file
    (XlsxWriter caches 0). Values are openpyxl's: ``int`` or ``float``,
    ``str``, ``bool``, ``datetime`` for date-formatted numbers, and error
    values as strings such as ``"#REF!"``.

    Empty means None or ``""``: a formula whose result is ``""`` is left out,
    because LibreOffice stores no value for it while Gnumeric stores ``""``.
    Numbers saved by LibreOffice carry 15 significant digits (``1/3`` reads
    back as ``0.333333333333333``); compare them with a relative tolerance.

    The file is opened read-only and never saved.
    """
    return {
        title: {_a1(row, col): value for (row, col), value in cells.items()}
        for title, cells in read_cell_values(path).items()
    }


def read_cell_values(path: Path | str) -> dict[str, dict[tuple[int, int], object]]:
    """:func:`read_values` keyed by position: ``{(row, col): value}``, 0-based.

    The same cells and values, without building an "A1" string for each
    (a large workbook has half a million).
    """
    book = _open_values(path)
    try:
        return {sheet.title: _sheet_values(sheet) for sheet in book.worksheets}
    finally:
        book.close()


def _open_values(path: Path | str) -> Any:
    with warnings.catch_warnings():
        # Gnumeric's xlsx has no default cell style; openpyxl warns and
        # substitutes its own, which does not affect values.
        warnings.filterwarnings("ignore", message="Workbook contains no default style")
        return load_read_only(Path(path), data_only=True)


def _sheet_values(sheet: Any) -> dict[tuple[int, int], object]:
    # The stored dimension may be stale; read every row present.
    sheet.reset_dimensions()
    cells: dict[tuple[int, int], object] = {}
    for row, found in enumerate(sheet.iter_rows(values_only=True)):
        for col, value in enumerate(found):
            if value is not None and value != "":
                cells[(row, col)] = value
    return cells


class SplitRead:
    """:func:`read_cell_values` of one file, shared with a helper process.

    openpyxl reads some 150,000 cells a second in one process; on two cores
    a helper halves the wait for a large workbook. The helper (a Python of
    its own, in its own session so Ctrl-C reaches only this process) is
    started with the object: its interpreter and openpyxl take half a second
    to load, better spent while the file is still being written. It waits
    for :meth:`begin`, which any thread may call once the file exists.
    :meth:`values` reads in this process too and returns what
    :func:`read_cell_values` would. Both take the sheets in one order,
    largest first by stored dimension, each claiming a sheet by creating a
    file for it in ``work`` (a private folder), so they finish at about the
    same time whichever starts first. A sheet the helper did not deliver (it
    failed, or could not start) is read here, so its error is raised here.
    :meth:`close` kills the helper if it still runs.
    """

    def __init__(self, work: Path) -> None:
        self._work = work
        self._path: Path | None = None
        self._helper: subprocess.Popen[bytes] | None = None
        root = str(Path(__file__).resolve().parent.parent)
        code = (
            f"import sys; sys.path.insert(0, {root!r}); "
            "from generator.engine import _help_read; _help_read()"
        )
        try:
            self._helper = subprocess.Popen(
                [sys.executable, "-c", code],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,  # a failure here is the parent's to report
                cwd=work,
                start_new_session=True,
            )
        except OSError:  # cannot start a process: read alone
            self._helper = None

    def begin(self, path: Path | str) -> None:
        """Have the helper start reading ``path``."""
        self._path = Path(path)
        if self._helper is not None and self._helper.stdin is not None:
            try:
                self._helper.stdin.write(f"{self._path.resolve()}\n".encode())
                self._helper.stdin.close()
            except OSError:  # the helper is gone; values() reads its share
                pass

    def values(
        self, stop: threading.Event | None = None
    ) -> dict[str, dict[tuple[int, int], object]]:
        """Every sheet's values (after :meth:`begin`), in workbook order.

        Setting ``stop`` while waiting for the helper raises
        :class:`Cancelled`.
        """
        assert self._path is not None, "begin() first"
        book = _open_values(self._path)
        try:
            mine: dict[str, dict[tuple[int, int], object]] = {}
            if self._helper is not None:
                _claim_sheets(book, self._work, mine)
            everything = all(sheet.title in mine for sheet in book.worksheets)
            theirs = {} if everything else self._collect(stop)
            values = {}
            for sheet in book.worksheets:
                found = mine.get(sheet.title, theirs.get(sheet.title))
                values[sheet.title] = _sheet_values(sheet) if found is None else found
            return values
        finally:
            book.close()

    def _collect(self, stop: threading.Event | None) -> dict[str, Any]:
        """The sheets the helper read (none if it failed or never started)."""
        if self._helper is None:
            return {}
        while True:
            try:
                self._helper.wait(timeout=_POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                if stop is not None and stop.is_set():
                    raise Cancelled("reading values") from None
        try:
            with (self._work / _HELPER_RESULTS).open("rb") as handle:
                found = pickle.load(handle)  # written by our helper, in our folder
        except (OSError, EOFError, pickle.UnpicklingError):
            return {}
        return found if isinstance(found, dict) else {}

    def close(self) -> None:
        """Kill the helper if it still runs, and reap it."""
        helper, self._helper = self._helper, None
        if helper is None:
            return
        if helper.poll() is None:  # not reaped, so its pid is still its own
            try:
                os.killpg(helper.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        helper.wait()
        if helper.stdin is not None:
            helper.stdin.close()


#: The file in which the helper of :class:`SplitRead` leaves what it read.
_HELPER_RESULTS = "values.pickle"


def _claim_sheets(book: Any, work: Path, into: dict[str, Any]) -> None:
    """Read the sheets of ``book`` this process is first to claim in ``work``."""
    sheets = sorted(
        book.worksheets,
        key=lambda sheet: -(sheet.max_row or 0) * (sheet.max_column or 0),
    )
    for index, sheet in enumerate(sheets):
        try:
            os.close(os.open(work / f"sheet-{index}", os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            continue  # the other process has it
        into[sheet.title] = _sheet_values(sheet)


def _help_read() -> None:
    """The helper of :class:`SplitRead`: the path comes on stdin, results in cwd."""
    path = sys.stdin.readline().rstrip("\n")
    if not path:
        return  # closed before there was anything to read
    done: dict[str, Any] = {}
    try:
        book = _open_values(path)
        try:
            with few_collections():
                _claim_sheets(book, Path.cwd(), done)
        finally:
            book.close()
    finally:
        with open(_HELPER_RESULTS + ".part", "wb") as handle:
            pickle.dump(done, handle, pickle.HIGHEST_PROTOCOL)
        os.replace(_HELPER_RESULTS + ".part", _HELPER_RESULTS)


def _a1(row: int, col: int) -> str:
    """The A1 reference of the 0-based (row, col)."""
    return f"{get_column_letter(col + 1)}{row + 1}"


def _find_binary(engine: str) -> str | None:
    """Return the path of ``engine``'s executable on PATH, or None."""
    for name in _BINARIES[engine]:
        found = shutil.which(name)
        if found:
            return found
    return None


def _require_binary(engine: str) -> str:
    """Return ``engine``'s executable; EngineError if it is not on PATH."""
    binary = _find_binary(engine)
    if binary is None:
        names = " or ".join(_BINARIES[engine])
        raise EngineError(f"{engine} is not installed: no {names} on PATH")
    return binary


def _check_xlsx(path: Path) -> None:
    """Raise EngineError unless ``path`` is a zip holding [Content_Types].xml.

    Engines given other bytes may import them as CSV text and succeed, which
    would verify nothing.
    """
    try:
        with zipfile.ZipFile(path) as package:
            package.getinfo("[Content_Types].xml")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise EngineError(f"{path}: not an xlsx workbook (zip package)") from exc


def _run_libreoffice(
    binary: str,
    copy: Path,
    work: Path,
    label: str,
    timeout: float,
    cancel: threading.Event | None,
) -> Path:
    """Convert ``copy`` to xlsx in ``work/out`` with a fresh private profile."""
    profile = work / "profile"
    _new_profile(profile)
    argv = [
        binary,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--invisible",
        "--nologo",
        "--nodefault",
        "--norestore",
        "--nolockcheck",
        f"--infilter={_LO_XLSX_FILTER}",
        "--convert-to",
        f"xlsx:{_LO_XLSX_FILTER}",
        "--outdir",
        str(work / "out"),
        str(copy),
    ]
    stderr = _run("libreoffice", argv, timeout, label, work, cancel)
    produced = work / "out" / copy.name
    _check_output("libreoffice", produced, label, stderr)
    _remember_profile(profile)
    return produced


def _run_gnumeric(
    binary: str,
    copy: Path,
    work: Path,
    label: str,
    timeout: float,
    cancel: threading.Event | None,
) -> Path:
    """Convert ``copy`` to xlsx in ``work/out`` with ``ssconvert --recalc``."""
    produced = work / "out" / copy.name
    argv = [
        binary,
        "--recalc",
        "--import-type=Gnumeric_Excel:xlsx",
        "--export-type=Gnumeric_Excel:xlsx2",
        str(copy),
        str(produced),
    ]
    stderr = _run("gnumeric", argv, timeout, label, work, cancel)
    _check_output("gnumeric", produced, label, stderr)
    return produced


def _new_profile(profile: Path) -> None:
    """Create a private LibreOffice profile that recalculates on load."""
    global _template_profile
    with _template_lock:
        template = _template_profile
    if template is not None:
        try:
            shutil.copytree(template, profile, symlinks=True)
        except OSError:  # the template was removed: start from scratch
            shutil.rmtree(profile, ignore_errors=True)
            with _template_lock:
                if _template_profile == template:
                    _template_profile = None
    user = profile / "user"
    user.mkdir(parents=True, exist_ok=True)
    # Overwrite whatever the template holds: only these settings matter.
    (user / "registrymodifications.xcu").write_text(_LO_REGISTRY, encoding="utf-8")


def _remember_profile(profile: Path) -> None:
    """Keep a copy of the first profile that completed a run, as template."""
    global _template_profile
    with _template_lock:
        if _template_profile is not None:
            return
        keep = Path(tempfile.mkdtemp(prefix="infercost-lo-template-"))
        atexit.register(shutil.rmtree, keep, ignore_errors=True)
        try:
            shutil.copytree(profile, keep / "profile", symlinks=True)
        except OSError:
            return  # only a speed-up; the next run starts from scratch
        _template_profile = keep / "profile"


def _engine_env() -> dict[str, str]:
    """The environment for an engine: the caller's, with a fixed C locale."""
    env = dict(os.environ)
    env["LC_ALL"] = "C.UTF-8"
    return env


def run_process(
    argv: list[str],
    timeout: float,
    cwd: Path,
    cancel: threading.Event | None = None,
) -> tuple[int, str]:
    """Run ``argv`` in a new process group; return (exit status, stderr).

    The whole group is killed, and the child reaped, when ``timeout`` seconds
    pass (``subprocess.TimeoutExpired`` is raised), when ``cancel`` is set
    (:class:`Cancelled`), or when the caller is interrupted (the exception
    propagates). ``OSError`` if it cannot start. Shared by the PDF export.
    """
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
        env=_engine_env(),
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(argv, timeout)
            if cancel is not None and cancel.is_set():
                raise Cancelled(argv[0])
            try:
                _, err = proc.communicate(timeout=min(left, _POLL_SECONDS))
                break
            except subprocess.TimeoutExpired:
                continue
    except BaseException:
        _kill_group(proc)
        raise
    return proc.returncode, err.decode("utf-8", errors="replace")


class Cancelled(Exception):
    """A run stopped because its caller no longer wants the result."""


def _run(
    engine: str,
    argv: list[str],
    timeout: float,
    label: str,
    cwd: Path,
    cancel: threading.Event | None = None,
) -> str:
    """Run an engine with :func:`run_process`; return its stderr.

    Raises EngineError if it cannot start, exceeds ``timeout`` seconds or
    exits non-zero.
    """
    try:
        returncode, stderr = run_process(argv, timeout, cwd, cancel)
    except OSError as exc:
        raise EngineError(f"{engine}: cannot start {argv[0]}: {exc}") from exc
    except subprocess.TimeoutExpired:
        raise EngineError(
            f"{engine} timed out after {timeout:g} s on {label}"
        ) from None
    if returncode != 0:
        how = (
            f"killed by signal {-returncode}"
            if returncode < 0
            else f"exit status {returncode}"
        )
        raise EngineError(f"{engine} failed on {label} ({how}){_last_line(stderr)}")
    return stderr


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc``'s process group, then reap ``proc``.

    Called before ``proc`` is reaped, so its pid (the group id) cannot have
    been reused.
    """
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        # A process that left the group still holds the pipes: stop reading.
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
        proc.wait()


def _check_output(engine: str, produced: Path, label: str, stderr: str) -> None:
    """Raise EngineError unless the engine wrote a non-empty ``produced``."""
    if not produced.is_file() or produced.stat().st_size == 0:
        raise EngineError(
            f"{engine} produced no output for {label}{_last_line(stderr)}"
        )


def _last_line(stderr: str) -> str:
    """Return ': <last meaningful stderr line>' (at most 200 chars), or ''."""
    lines = [
        line.strip()
        for line in stderr.splitlines()
        if line.strip() and not line.strip().startswith(_NOISE)
    ]
    if not lines:
        return ""
    last = lines[-1]
    return ": " + (last if len(last) <= 200 else last[:197] + "...")
