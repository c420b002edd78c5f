"""`infercost build --pdf`: a PDF of the workbook, written through LibreOffice.

Tests that run LibreOffice or poppler (pdftoppm, pdftotext, pdfinfo) skip
when they are missing, and fail on CI (``CI=true``); the others replace
``soffice`` with a small shell script.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from engines import on_ci, require_engine

from generator.cli import main
from generator.layout import SHEETS, SUMMARY
from generator.pdf import PdfError, export_pdf

VISIBLE_SHEETS = [title for title in SHEETS if not title.startswith("_")]


def require_tool(name: str) -> None:
    """Skip the calling test if ``name`` is not on PATH; fail on CI."""
    if shutil.which(name):
        return
    message = f"{name} is not installed (poppler-utils)"
    if on_ci():
        pytest.fail(f"{message} (CI=true: it is required)")
    pytest.skip(message)


def _require_all() -> None:
    require_engine("libreoffice")
    for tool in ("pdfinfo", "pdftotext", "pdftoppm"):
        require_tool(tool)


_BUILT: dict[str, Path] = {}


def built_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default workbook built with --pdf, once per session."""
    if "pdf" not in _BUILT:
        folder = tmp_path_factory.mktemp("pdf")
        result = CliRunner().invoke(
            main, ["build", "-o", str(folder / "book.xlsx"), "--pdf"]
        )
        assert result.exit_code == 0, result.output
        _BUILT["pdf"] = folder / "book.pdf"
    return _BUILT["pdf"]


def _run(*argv: str) -> str:
    return subprocess.run(
        argv, check=True, capture_output=True, text=True, timeout=120
    ).stdout


def decode_png(data: bytes) -> tuple[int, int, int, bytes]:
    """(width, height, channels, raw pixel bytes) of an 8-bit PNG, no palette."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (0, 2, 4, 6), (depth, colour)
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw, stride = zlib.decompress(idat), width * channels
    out, prev = bytearray(), bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 :][:stride]),
        )
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b, c = prev[x], prev[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + a) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + b) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[x] = (line[x] + pred) & 0xFF
        out += line
        prev = line
    return width, height, channels, bytes(out)


# -- with LibreOffice ------------------------------------------------------
def test_build_pdf_writes_a_pdf_beside_the_workbook(tmp_path_factory):
    """--pdf writes book.pdf next to book.xlsx, a PDF that poppler opens."""
    _require_all()
    pdf = built_pdf(tmp_path_factory)
    assert pdf.with_suffix(".xlsx").is_file()
    assert pdf.read_bytes()[:5] == b"%PDF-"
    info = _run("pdfinfo", str(pdf))
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert pages >= len(VISIBLE_SHEETS)
    assert re.search(r"^Page size:.*landscape|^Page size:\s+841", info, re.M), info


def test_pdf_has_a_page_per_sheet_with_the_header(tmp_path_factory):
    """Every visible sheet prints, each page headed by the pricebook and date."""
    _require_all()
    pdf = built_pdf(tmp_path_factory)
    text = _run("pdftotext", "-layout", str(pdf), "-")
    pages = [page for page in text.split("\f") if page.strip()]
    header = "February 2026 reference list prices (prices of 2026-02-21)"
    titles = set()
    for page in pages:
        first = next(line for line in page.splitlines() if line.strip())
        assert header in first, first
        titles.add(first.split(header, 1)[1].strip())
    assert titles == set(VISIBLE_SHEETS)


def test_first_page_shows_the_summary_with_charts(tmp_path_factory, tmp_path):
    """Page 1 holds the headline table and coloured chart bars, not a blank."""
    _require_all()
    pdf = built_pdf(tmp_path_factory)
    page1 = _run("pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-")
    assert SUMMARY in page1
    assert "evaluate fixed-cost infrastructure now" in page1
    assert "ranking after the quality gate" in page1
    _run(
        "pdftoppm",
        "-png",
        "-r",
        "50",
        "-f",
        "1",
        "-l",
        "1",
        str(pdf),
        str(tmp_path / "page"),
    )
    (png,) = tmp_path.glob("page*.png")
    width, height, channels, pixels = decode_png(png.read_bytes())
    ink = coloured = 0
    for i in range(0, len(pixels), channels):
        rgb = pixels[i : i + 3] if channels >= 3 else pixels[i : i + 1] * 3
        if min(rgb) < 200:
            ink += 1
        if max(rgb) - min(rgb) > 80:  # the blue and orange bars
            coloured += 1
    assert ink > 0.03 * width * height
    assert coloured > 0.01 * width * height


# -- without LibreOffice -----------------------------------------------------
def _fake_soffice(tmp_path: Path, monkeypatch, script: str) -> Path:
    """Put a Python script named soffice first on PATH; return its folder."""
    folder = tmp_path / "bin"
    folder.mkdir()
    path = folder / "soffice"
    head = f"#!{sys.executable}\nimport os, sys, time\nfrom pathlib import Path\n"
    path.write_text(head + script, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return folder


@pytest.fixture
def workbook(built_workbook, tmp_path) -> Path:
    path = tmp_path / "book.xlsx"
    shutil.copyfile(built_workbook, path)
    return path


def test_missing_libreoffice_is_one_line_and_exit_2(tmp_path, monkeypatch):
    """No soffice on PATH: the workbook is written, the PDF is a one-line error."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    out = tmp_path / "book.xlsx"
    result = CliRunner().invoke(main, ["build", "-o", str(out), "--pdf"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert lines == [
        f"Error: {out.with_suffix('.pdf')}: cannot write the PDF: LibreOffice is "
        "not installed (no soffice or libreoffice on PATH)"
    ]
    assert "Traceback" not in result.output
    assert out.is_file() and not out.with_suffix(".pdf").exists()


def test_libreoffice_runs_with_a_private_profile(workbook, tmp_path, monkeypatch):
    """soffice gets a fresh temporary profile, headless, converting to PDF."""
    log = tmp_path / "argv"
    _fake_soffice(
        tmp_path,
        monkeypatch,
        f"Path({str(log)!r}).write_text(chr(10).join(sys.argv[1:]))\n"
        "out = Path(sys.argv[sys.argv.index('--outdir') + 1])\n"
        "out.mkdir(parents=True)\n"
        "(out / (Path(sys.argv[-1]).stem + '.pdf')).write_bytes(b'%PDF-1.4 fake')\n",
    )
    pdf = export_pdf(workbook)
    assert pdf == workbook.with_suffix(".pdf")
    assert pdf.read_bytes() == b"%PDF-1.4 fake"
    argv = log.read_text(encoding="utf-8").splitlines()
    assert "--headless" in argv
    assert argv[argv.index("--convert-to") + 1].startswith("pdf")
    (profile,) = [a for a in argv if a.startswith("-env:UserInstallation=file://")]
    folder = Path(profile.split("file://", 1)[1])
    assert folder.is_relative_to(tempfile.gettempdir())
    assert not folder.exists()  # removed with its temporary directory
    assert Path(argv[-1]) != workbook  # LibreOffice worked on a copy
    assert not list(workbook.parent.glob(".~lock*"))


def test_timeout_kills_libreoffice(workbook, tmp_path, monkeypatch):
    """A hung LibreOffice is killed after the timeout: a one-line error."""
    pid_file = tmp_path / "pid"
    _fake_soffice(
        tmp_path,
        monkeypatch,
        f"Path({str(pid_file)!r}).write_text(str(os.getpid()))\ntime.sleep(60)\n",
    )
    start = time.monotonic()
    with pytest.raises(PdfError, match=r"took more than 1 s to write the PDF$"):
        export_pdf(workbook, timeout=1)
    assert time.monotonic() - start < 15
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("sys.exit(0)\n", r"LibreOffice wrote no PDF$"),
        ("print('boom', file=sys.stderr)\nsys.exit(3)\n", r"\(exit status 3\): boom$"),
    ],
    ids=["no-output", "crash"],
)
def test_failed_export_keeps_the_earlier_pdf(
    workbook, tmp_path, monkeypatch, script, message
):
    """A failed export raises PdfError and leaves any earlier PDF as it was."""
    earlier = workbook.with_suffix(".pdf")
    earlier.write_bytes(b"%PDF-earlier")
    _fake_soffice(tmp_path, monkeypatch, script)
    with pytest.raises(PdfError, match=message):
        export_pdf(workbook)
    assert earlier.read_bytes() == b"%PDF-earlier"
    assert sorted(p.name for p in workbook.parent.iterdir()) == [
        "bin",
        "book.pdf",
        "book.xlsx",
    ]
