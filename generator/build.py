"""Build a workbook from pricebook files: load, lay out, write.

Before anything is written, :func:`check_output` makes sure the build loses
nothing a user cares about: it refuses (unless forced) to replace a workbook
that is open in Excel or LibreOffice, or whose inputs were edited since
infercost built it, or a file that is not an infercost workbook at all.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from defusedxml import ElementTree

from .errors import InfercostError, InputError, OutputError
from .layout import build_plan
from .plan import SheetPlan
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
    book = load_book(pricebooks)
    check_output(out, pricebooks, force=force)
    return write_book(book, out)


def write_book(
    book: Book, out: Path, extra_sheets: Sequence[SheetPlan] = ()
) -> BuildReport:
    """Lay out ``book`` and write it to ``out``.

    ``extra_sheets`` (such as the Changes sheet of ``build --previous``) go
    after the Summary; they hold labels only and are not verified.
    """
    try:
        plan = build_plan(book)
    except InputError as exc:
        raise locate(exc, book) from None
    plan.sheets[1:1] = list(extra_sheets)
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
        if lock.exists():
            raise OutputError(
                f"{out}: the workbook is open in {app} (its lock file {lock.name} "
                "is beside it); close it and build again, or pass --force if no "
                "one has it open"
            )
    if not out.exists() or (keep_from is not None and _same_file(out, keep_from)):
        return
    edited = edited_inputs(out)
    if edited:
        shown = "; ".join(edited[:3]) + ("; ..." if len(edited) > 3 else "")
        count = "1 input was" if len(edited) == 1 else f"{len(edited)} inputs were"
        raise OutputError(
            f"{out}: {count} edited since infercost built it ({shown}); to carry "
            f"them into the new workbook add --keep-inputs {out}, or pass --force "
            "to overwrite them"
        )


def edited_inputs(path: Path) -> list[str]:
    """The inputs of the workbook ``path`` that differ from what infercost wrote.

    Every input cell is compared with the value infercost wrote. A large
    workbook (over ``QUICK_CHECK_ABOVE`` bytes) that no spreadsheet has saved
    since infercost wrote it (its document properties still say so) is taken
    as unedited without being read. Raises OutputError when ``path`` is not a
    workbook infercost built: such a file is not replaced without ``--force``.
    """
    from .verify import read_inputs, read_workbook

    if path.stat().st_size > QUICK_CHECK_ABOVE and _unsaved_since_built(path):
        return []
    try:
        workbook = read_workbook(path)
        book, findings, changed = read_inputs(workbook, build_plan(workbook.built))
    except InfercostError as exc:
        raise OutputError(
            f"{path}: exists and is not a workbook infercost can read back "
            f"({_reason(exc)}); refusing to replace it: move it away or pass "
            "--force"
        ) from None
    return [f.message.removeprefix("input ") for f in findings] + changed


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
