"""Build a workbook from pricebook files: load, lay out, write.

Before anything is written, :func:`check_output` makes sure the build loses
nothing a user cares about: it refuses (unless forced) to replace a workbook
that is open in Excel or LibreOffice, or whose inputs were edited since
infercost built it, or that carries inputs kept from an earlier workbook
(a plain build would lose them), or a file that is not an infercost workbook
at all.

The metadata sheet holds the pricebook a workbook was built from (column A,
written by the layout). Some inputs are written with other values: the
analyst's overrides and carried assumptions of a ``--keep-inputs`` build, and
a forecast shorter than its columns. Column B records those values, and
which of them ``--keep-inputs`` kept from an earlier workbook
(:func:`record_written`), so the edit check compares every input with what
was written, while the metadata keeps the pricebook's values for the next
``--keep-inputs`` and for ``verify``.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from defusedxml import ElementTree

from .errors import InfercostError, InputError, OutputError
from .gctune import few_collections
from .layout import CHUNK, METADATA, build_plan
from .plan import Plan, SheetPlan
from .pricebook import Book, load_book
from .writer import write_plan


@dataclass
class BuildReport:
    """What a build wrote, for the one line the CLI prints."""

    path: Path
    providers: int
    scenarios: int
    sheets: int
    charts: int
    warnings: list[str]


def build_workbook(
    pricebooks: list[Path], out: Path, *, force: bool = False
) -> BuildReport:
    """Load ``pricebooks``, write the workbook to ``out`` and say what was done.

    Raises InputError for a bad pricebook and OutputError when ``out`` must
    not be replaced (see :func:`check_output`; ``force`` skips the checks that
    protect the user's edits). Nothing is written when either is raised.
    """
    with few_collections():
        book = load_book(pricebooks)
        check_output(out, pricebooks, force=force)
        return write_book(book, out)


def write_book(
    book: Book,
    out: Path,
    extra_sheets: Sequence[SheetPlan] = (),
    kept: Sequence[tuple[str, Any]] = (),
) -> BuildReport:
    """Lay out ``book`` and write it to ``out``.

    ``extra_sheets`` (such as the Changes sheet of ``build --previous``) go
    after the Summary; they hold labels only and are not verified. ``kept``
    names the inputs ``--keep-inputs`` carried from an earlier workbook that
    a build from the pricebook alone would not give (name, value).
    """
    with few_collections():
        try:
            plan = build_plan(book)
        except InputError as exc:
            raise locate(exc, book) from None
        plan.sheets[1:1] = list(extra_sheets)
        record_written(plan, Record(written_values(book), list(kept)))
        write_plan(plan, out)
    return BuildReport(
        out,
        len(book.providers),
        len(book.scenarios),
        len(plan.sheets),
        len(plan.charts),
        list(book.warnings),
    )


def locate(error: InputError, book: Book) -> InputError:
    """``error`` pointing at the pricebook line of the last id it names.

    The layout finds some problems (two ids that make the same defined name)
    only once the book is merged; its message names the ids ("provider
    'x'", "scenario 'y'") but not where they were written.
    """
    if error.file:
        return error
    for kind, ident in reversed(
        re.findall(r"(provider|scenario) '([^']+)'", str(error))
    ):
        if (kind, ident) in book.origins:
            file, line, column, field = book.origins[(kind, ident)]
            return InputError(
                error.problem, file=file, line=line, column=column, field=field
            )
    return error


# ---------------------------------------------------------------------------
# Inputs written with a value other than the metadata's

#: The metadata sheet's column that records them (see the module docstring).
WRITTEN_COL = 1
WRITTEN_NOTE = (
    "Inputs written with another value than the pricebook's in column A, and "
    "those kept from an earlier workbook by build --keep-inputs. Do not edit."
)

InputKey = tuple[Any, ...]


@dataclass
class Record:
    """What column B of the metadata sheet records (see the module docstring)."""

    #: Input key -> the value written, where the metadata has another.
    written: dict[InputKey, Any] = field(default_factory=dict)
    #: (name, value) of the inputs kept from an earlier workbook.
    kept: list[tuple[str, Any]] = field(default_factory=list)


def written_values(book: Book) -> dict[InputKey, Any]:
    """Input key -> the value written, for every input the metadata of
    ``book``'s workbook holds with another value (the pricebook's)."""
    out: dict[InputKey, Any] = {}
    for pid, name in book.overrides:
        out[("provider", pid, name)] = getattr(book.provider(pid), name)
    scenarios = {s.id: s for s in book.scenarios}
    for sid, name in book.carried:
        out[("scenario", sid, name)] = getattr(scenarios[sid], name)
    if book.forecast_columns not in (None, book.forecast_months):
        out[("book", "forecast_months")] = book.forecast_months
    return out


def record_written(plan: Plan, record: Record) -> None:
    """Add ``record`` to column B of the metadata sheet (when not empty).

    Row 1 says what it is, row 2 the number of chunks, rows 3 on the JSON
    text ``{"written": [[key, value], ...], "kept": [[name, value], ...]}``
    in chunks (a cell holds 32,767 characters).
    """
    if not record.written and not record.kept:
        return
    text = json.dumps(
        {
            "written": [[list(key), value] for key, value in record.written.items()],
            "kept": [list(pair) for pair in record.kept],
        }
    )
    chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]
    sheet = plan.sheet(METADATA)
    sheet.label(0, WRITTEN_COL, WRITTEN_NOTE, "text")
    sheet.label(1, WRITTEN_COL, str(len(chunks)), "text")
    for i, chunk in enumerate(chunks):
        sheet.label(2 + i, WRITTEN_COL, chunk, "text")


def read_written(path: Path) -> Record:
    """The :class:`Record` of workbook ``path``.

    Empty for a workbook without one (a plain build, or one written before
    records were kept) or with a damaged one: its inputs are then compared
    with the metadata's values. Raises InputError when ``path`` is not a
    workbook that can be read safely.
    """
    from .xlsxread import open_workbook, sheet_cells, worksheet_titles

    workbook = open_workbook(path)
    try:
        if METADATA not in worksheet_titles(workbook):
            return Record()
        meta = sheet_cells(workbook, METADATA)
    finally:
        workbook.close()
    return _parse_record(
        {row: value for (row, col), value in meta.items() if col == WRITTEN_COL}
    )


def _parse_record(cells: dict[int, Any]) -> Record:
    """The record from column B's cells by 0-based row (see record_written)."""
    try:
        count = int(cells.get(1, "0"))
        if not 0 <= count <= max(cells, default=0):  # a count read from the file
            return Record()
        text = "".join(str(cells.get(2 + i, "")) for i in range(count))
        data = json.loads(text) if text else {}
        return Record(
            {tuple(key): value for key, value in data.get("written", [])},
            [(str(name), value) for name, value in data.get("kept", [])],
        )
    except (ValueError, TypeError, AttributeError):
        return Record()


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _written_as_xlsxwriter_wrote_it(path: Path) -> Record:
    """:func:`read_written` of a workbook no spreadsheet has saved, quickly.

    Reads the metadata sheet's part alone, with its text inline as
    XlsxWriter writes it, instead of checking and opening the whole package
    (seconds for a large book). Anything unexpected gives an empty record.
    """
    try:
        with zipfile.ZipFile(path) as package:
            rid = None
            with package.open("xl/workbook.xml") as handle:
                for _, element in ElementTree.iterparse(handle):
                    if element.tag == _MAIN + "sheet":
                        if element.get("name") == METADATA:
                            rid = element.get(_REL + "id")
                    elif element.tag == _MAIN + "sheets":
                        break  # the defined names after it can be large
            rels = ElementTree.fromstring(package.read("xl/_rels/workbook.xml.rels"))
            target = next(r.get("Target", "") for r in rels if r.get("Id") == rid)
            part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            cells: dict[int, Any] = {}
            column = re.compile(r"([A-Z]+)([0-9]+)")
            with package.open(part) as handle:
                for _, element in ElementTree.iterparse(handle):
                    if element.tag != _MAIN + "c":
                        continue
                    where = column.fullmatch(element.get("r", ""))
                    if where and where.group(1) == "B":
                        text = element.findtext(f"{_MAIN}is/{_MAIN}t")
                        cells[int(where.group(2)) - 1] = text
                    element.clear()
    except Exception:  # a package we did not expect: no record
        return Record()
    return _parse_record(cells)


def as_written(built: Book, written: dict[InputKey, Any]) -> Book:
    """The metadata's book ``built`` with the ``written`` values applied."""
    scenarios = {s.id: replace(s) for s in built.scenarios}
    providers = {p.id: replace(p) for p in built.providers}
    book = replace(
        built,
        scenarios=list(scenarios.values()),
        providers=list(providers.values()),
    )
    for key, value in written.items():
        if key[0] == "provider" and key[1] in providers:
            setattr(providers[key[1]], key[2], value)
        elif key[0] == "scenario" and key[1] in scenarios:
            setattr(scenarios[key[1]], key[2], value)
        elif key == ("book", "forecast_months") and isinstance(value, int):
            book.forecast_columns = built.forecast_months  # the metadata's columns
            book.forecast_months = value
    return book


# ---------------------------------------------------------------------------
# Is it safe to write the output?

#: Lock files that Excel (``~$name``) and LibreOffice (``.~lock.name#``) keep
#: beside a workbook while it is open.
EXCEL_LOCK = "~${}"
LIBREOFFICE_LOCK = ".~lock.{}#"
#: What XlsxWriter records as the last author of a workbook infercost wrote.
AUTHOR = "infercost"
#: Above this size, reading every input cell back would slow a rebuild down
#: (seconds for thousands of providers): the document properties decide.
QUICK_CHECK_ABOVE = 4 * 1024 * 1024


def check_output(
    out: Path,
    inputs: Sequence[Path] = (),
    *,
    force: bool = False,
    keep_from: Path | None = None,
) -> None:
    """Raise OutputError unless the workbook may be written to ``out``.

    Always refused: a name not ending in ``.xlsx``, a folder, one of the
    pricebooks being read. Refused unless ``force``: a workbook open in Excel
    or LibreOffice (their lock file is beside it); an existing file that is
    not a workbook infercost built; one whose inputs were edited since it was
    built, unless those inputs are being carried over (``keep_from`` is
    ``out`` itself). A missing folder is fine: the writer creates it.
    """
    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise OutputError(
            f"{out}: expected a workbook name ending in .xlsx (Excel refuses an "
            "xlsx workbook under another extension)"
        )
    if out.is_dir():
        raise OutputError(f"{out}: is a folder; name the workbook to write in it")
    for source in inputs:
        if _same_file(out, Path(source)):
            raise OutputError(
                f"{out}: is one of the pricebooks being read; choose another name"
            )
    if force:
        return
    for lock, app in (
        (out.parent / EXCEL_LOCK.format(out.name), "Excel"),
        (out.parent / EXCEL_LOCK.format(out.name[2:]), "Excel"),
        (out.parent / LIBREOFFICE_LOCK.format(out.name), "LibreOffice"),
    ):
        if _lock_exists(lock):
            raise OutputError(
                f"{out}: the workbook is open in {app} (its lock file {lock.name} "
                "is beside it); close it and build again, or pass --force if no "
                "one has it open"
            )
    if not out.exists() or (keep_from is not None and _same_file(out, keep_from)):
        return
    state = written_state(out)
    if state.edited:
        edited = state.edited
        shown = "; ".join(edited[:3]) + ("; ..." if len(edited) > 3 else "")
        count = "1 input was" if len(edited) == 1 else f"{len(edited)} inputs were"
        raise OutputError(
            f"{out}: {count} edited since infercost built it ({shown}); to carry "
            f"them into the new workbook add --keep-inputs {out}, or pass --force "
            "to overwrite them"
        )
    if state.kept and keep_from is None:
        kept = state.kept
        shown = "; ".join(kept[:3]) + ("; ..." if len(kept) > 3 else "")
        count = "1 input" if len(kept) == 1 else f"{len(kept)} inputs"
        raise OutputError(
            f"{out}: holds {count} kept from an earlier workbook by --keep-inputs "
            f"({shown}), which a build without it would replace with the "
            f"pricebook's; add --keep-inputs {out} to keep them, or pass --force "
            "to overwrite them"
        )


@dataclass
class Written:
    """An existing workbook's inputs against what infercost wrote."""

    #: Inputs edited since infercost wrote the workbook: "name: was -> now".
    edited: list[str] = field(default_factory=list)
    #: Inputs kept from an earlier workbook by ``--keep-inputs``: "name = value".
    kept: list[str] = field(default_factory=list)


def written_state(path: Path) -> Written:
    """Compare the inputs of workbook ``path`` with the values infercost wrote.

    Every input cell is compared with the value written, carried and
    overridden values included (:func:`read_written`). A large workbook (over
    ``QUICK_CHECK_ABOVE`` bytes) that no spreadsheet has saved since infercost
    wrote it (its document properties still say so) is taken as unedited
    without its inputs being read. Raises OutputError when ``path`` is not a
    workbook infercost built: such a file is not replaced without ``--force``.
    """
    from .verify import check_renamed_sheets, read_inputs, read_workbook

    def kept(record: Record) -> list[str]:
        return [f"{name} = {_shown(value)}" for name, value in record.kept]

    if path.stat().st_size > QUICK_CHECK_ABOVE and _unsaved_since_built(path):
        return Written([], kept(_written_as_xlsxwriter_wrote_it(path)))
    try:
        workbook = read_workbook(path)
        record = read_written(path)
        built = as_written(workbook.built, record.written)
        plan = build_plan(built)
        _, findings, changed = read_inputs(replace(workbook, built=built), plan)
    except InfercostError as exc:
        raise OutputError(
            f"{path}: exists and is not a workbook infercost can read back "
            f"({_reason(exc)}); refusing to replace it: move it away or pass "
            "--force"
        ) from None
    renamed = check_renamed_sheets(workbook, plan)
    if renamed:
        first = renamed[0]
        raise OutputError(
            f"{path}: {first.sheet}: {first.message}; until then its edits "
            "cannot be checked, so it is not replaced (--force overwrites it)"
        )
    edited = [f.message.removeprefix("input ") for f in findings] + changed
    return Written(edited, kept(record))


def edited_inputs(path: Path) -> list[str]:
    """The inputs of workbook ``path`` edited since infercost wrote it
    (see :func:`written_state`)."""
    return written_state(path).edited


def _shown(value: Any) -> str:
    """A value as the keep log shows it (250,000,000; 0.35; [0.2, 0.3])."""
    from .keep import show  # keep reads workbooks through build's modules

    return show(value)


def _unsaved_since_built(path: Path) -> bool:
    """True when the workbook's core properties are still those XlsxWriter wrote.

    XlsxWriter writes the same created and modified time and infercost as the
    last author; Excel and LibreOffice change both when they save.
    """
    ns = {
        "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
        "dcterms": "http://purl.org/dc/terms/",
    }
    try:
        with zipfile.ZipFile(path) as package:
            info = package.getinfo("docProps/core.xml")
            if info.file_size > 64 * 1024:
                return False
            root = ElementTree.fromstring(package.read(info))
    except Exception:  # anything unreadable takes the careful path
        return False
    author = root.findtext("cp:lastModifiedBy", None, ns)
    created = root.findtext("dcterms:created", None, ns)
    modified = root.findtext("dcterms:modified", None, ns)
    return author == AUTHOR and created is not None and created == modified


def _reason(error: InfercostError) -> str:
    text = str(error)
    if isinstance(error, InputError) and error.file:
        text = error.problem
    return text


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(os.path.abspath(a)) == Path(os.path.abspath(b))


def _lock_exists(lock: Path) -> bool:
    """Whether the lock file ``lock`` is there; a name too long for the file
    system to hold (a workbook name near 255 bytes) cannot be a lock file."""
    try:
        return lock.exists()
    except OSError:
        return False
