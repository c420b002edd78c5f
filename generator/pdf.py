"""Write a PDF of a workbook through LibreOffice, headless.

``infercost build --pdf`` calls :func:`export_pdf` after writing the workbook,
for readers who only open attachments. The PDF shows the cached values the
workbook was written with (LibreOffice does not recalculate an xlsx on load
by default), which are the model's: the same figures a mail preview shows.

Rules every run follows:

- LibreOffice runs on a copy of the workbook in a fresh temporary directory,
  with a private profile there (``-env:UserInstallation=file:///tmp/...``), so
  it neither touches the user's profile nor clashes with a LibreOffice that
  is already open, and no lock file appears beside the workbook.
- It runs in its own process group with a timeout; on timeout, or when the
  caller is interrupted, the whole group is killed.
- The PDF is written beside the target and moved into place, so a failed
  export leaves any earlier PDF untouched.
- Every failure is a :class:`PdfError` with a one-line message (exit status
  2): LibreOffice missing, timed out, failed, or wrote no PDF.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .engine import run_process
from .errors import InfercostError

log = logging.getLogger("infercost")

#: Executables tried, in order, on PATH.
BINARIES = ("soffice", "libreoffice")
#: Seconds LibreOffice may take: a base for its start, and more a megabyte of
#: workbook (a 7 MB book of 3,445 providers, 1,030 pages, took 8 minutes).
TIMEOUT_BASE = 120.0
TIMEOUT_PER_MB = 180.0


class PdfError(InfercostError):
    """The PDF could not be written (exit status 2)."""


def find_soffice() -> str | None:
    """The path of LibreOffice's ``soffice`` on PATH, or None."""
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


def export_pdf(
    workbook: Path, pdf: Path | None = None, timeout: float | None = None
) -> Path:
    """Write ``workbook`` as a PDF (default: beside it, suffix .pdf).

    ``timeout`` (seconds) defaults to :data:`TIMEOUT_BASE` plus
    :data:`TIMEOUT_PER_MB` a megabyte of workbook. Returns the PDF's path;
    raises :class:`PdfError` on any failure.
    """
    workbook = Path(workbook)
    pdf = Path(pdf) if pdf is not None else workbook.with_suffix(".pdf")
    binary = find_soffice()
    if binary is None:
        raise PdfError(
            f"{pdf}: cannot write the PDF: LibreOffice is not installed (no "
            "soffice or libreoffice on PATH)"
        )
    if not workbook.is_file():
        raise PdfError(f"{workbook}: cannot write a PDF: no such workbook")
    megabytes = workbook.stat().st_size / 1e6
    if timeout is None:
        timeout = TIMEOUT_BASE + TIMEOUT_PER_MB * megabytes
    if megabytes >= 1:
        log.info(
            "writing %s through LibreOffice (%.0f MB of workbook: this can take "
            "minutes)",
            pdf,
            megabytes,
        )
    with tempfile.TemporaryDirectory(
        prefix="infercost-pdf-", ignore_cleanup_errors=True
    ) as tmp:
        work = Path(tmp)
        copy = work / "in" / (workbook.stem + ".xlsx")
        copy.parent.mkdir()
        shutil.copyfile(workbook, copy)
        argv = [
            binary,
            f"-env:UserInstallation={(work / 'profile').as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--nodefault",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            "pdf:calc_pdf_Export",
            "--outdir",
            str(work / "out"),
            str(copy),
        ]
        stderr = _run(argv, timeout, work, pdf)
        produced = work / "out" / (copy.stem + ".pdf")
        if not _is_pdf(produced):
            raise PdfError(f"{pdf}: LibreOffice wrote no PDF{_last_line(stderr)}")
        _move_into_place(produced, pdf)
    return pdf


def _run(argv: list[str], timeout: float, cwd: Path, pdf: Path) -> str:
    """Run LibreOffice with the engine's process rules; return its stderr."""
    try:
        returncode, stderr = run_process(argv, timeout, cwd)
    except OSError as exc:
        raise PdfError(f"{pdf}: cannot start LibreOffice ({argv[0]}): {exc}") from None
    except subprocess.TimeoutExpired:
        raise PdfError(
            f"{pdf}: LibreOffice took more than {timeout:g} s to write the PDF"
        ) from None
    if returncode != 0:
        raise PdfError(
            f"{pdf}: LibreOffice failed (exit status {returncode}){_last_line(stderr)}"
        )
    return stderr


def _is_pdf(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(5) == b"%PDF-"
    except OSError:
        return False


def _move_into_place(produced: Path, pdf: Path) -> None:
    """Copy ``produced`` beside ``pdf``, then rename it over ``pdf``."""
    folder = pdf.parent if str(pdf.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{pdf.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise PdfError(f"{pdf}: cannot write the PDF: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out, open(produced, "rb") as src:
            shutil.copyfileobj(src, out)
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, pdf)
    except OSError as exc:
        raise PdfError(f"{pdf}: cannot write the PDF: {exc.strerror}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _last_line(stderr: str) -> str:
    """': <last non-empty stderr line>' (at most 200 characters), or ''."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return ""
    last = lines[-1]
    return ": " + (last if len(last) <= 200 else last[:197] + "...")
