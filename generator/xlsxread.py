"""Open a workbook someone sent us, carefully, and read it without changing it.

A workbook that went by email is untrusted input. Before any XML parser sees
it, :func:`check_package` makes sure it is an xlsx package and not something
dangerous or absurd: an encrypted or legacy binary file, a macro workbook, a
zip bomb (the uncompressed size is bounded before anything is inflated).
XML is parsed by openpyxl, which uses defusedxml when it is installed (it is
a dependency of infercost); nothing is ever saved through openpyxl.
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import openpyxl.xml

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
    with path.open("rb") as handle:
        head = handle.read(8)
    if head == OLE_MAGIC:
        raise InputError(
            "an encrypted (password-protected) workbook or a legacy .xls file; "
            "save it as an unprotected .xlsx",
            file=name,
        )
    if not zipfile.is_zipfile(path):
        raise InputError("not an xlsx workbook (not a zip package)", file=name)
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
            types = package.read("[Content_Types].xml")
            if b"macroEnabled" in types:
                raise InputError(
                    "a macro-enabled workbook (.xlsm); infercost reads "
                    "only macro-free .xlsx files",
                    file=name,
                )
    except zipfile.BadZipFile as exc:
        raise InputError(
            f"a damaged or truncated xlsx package ({exc})", file=name
        ) from None


def open_workbook(path: Path, *, data_only: bool = False) -> Any:
    """openpyxl workbook of ``path`` in read-only mode, after :func:`check_package`."""
    check_package(path)
    if not openpyxl.xml.DEFUSEDXML:  # pragma: no cover - defusedxml is a dependency
        raise InputError("defusedxml is not installed; refusing to parse workbooks")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(
                path, read_only=True, data_only=data_only, keep_links=False
            )
    except InputError:
        raise
    except Exception as exc:  # openpyxl raises many types on a broken package
        raise InputError(
            f"cannot read the workbook: {type(exc).__name__}: {exc}", file=str(path)
        ) from None


def sheet_cells(workbook: Any, title: str) -> dict[tuple[int, int], Any]:
    """{(row, col) 0-based: value} of every non-empty cell of sheet ``title``."""
    ws = workbook[title]
    ws.reset_dimensions()
    out: dict[tuple[int, int], Any] = {}
    for r, row in enumerate(ws.iter_rows(values_only=True)):
        for c, value in enumerate(row):
            if value is not None:
                out[(r, c)] = value
    return out
