"""Test helper: decide what a test does when a spreadsheet engine is missing.

Rule: on CI (``CI=true`` in the environment) a missing engine fails the test,
so a broken CI image cannot pass by skipping every engine test; elsewhere
the test is skipped with the reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator.engine import available_engines


def on_ci() -> bool:
    """True when running on CI, where every engine must be installed."""
    return os.environ.get("CI") == "true"


def require_engine(engine: str) -> None:
    """Skip the calling test if ``engine`` is not installed; fail on CI."""
    if engine in available_engines():
        return
    message = f"spreadsheet engine {engine!r} is not installed"
    if on_ci():
        pytest.fail(f"{message} (CI=true: engines are required)")
    pytest.skip(message)


#: A LibreOffice that never finishes: it writes its child's pid and waits.
HANGING_SOFFICE = """#!/bin/sh
/bin/sleep 120 &
echo $! > {pid_file}
wait
"""


def hanging_soffice(folder: Path, pid_file: Path) -> dict[str, str]:
    """An environment whose only soffice hangs, writing its child's pid."""
    folder.mkdir()
    fake = folder / "soffice"
    fake.write_text(HANGING_SOFFICE.format(pid_file=pid_file))
    fake.chmod(0o755)
    return {"PATH": str(folder)}


def verify_with_hanging_engine(
    workbook: Path,
    tmp_path: Path,
    code: str = "from generator.cli import main; main()",
    extra: tuple[str, ...] = (),
) -> tuple[subprocess.Popen[str], Path, Path]:
    """``verify --engine libreoffice`` of ``workbook`` (and ``extra`` options)
    in a child Python (``code`` starts the CLI), returned once its engine
    hangs: (child, the engine's pid file, the child's TMPDIR). The child's
    stdout and stderr are pipes."""
    pid_file = tmp_path / "child.pid"
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    env.update(hanging_soffice(tmp_path / "bin", pid_file))
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "verify",
            "--engine",
            "libreoffice",
            *extra,
            str(workbook),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text().strip():
        if child.poll() is not None or time.monotonic() > deadline:
            child.kill()
            raise AssertionError(
                f"the fake engine never started: {child.stderr.read()}"
            )
        time.sleep(0.05)
    return child, pid_file, scratch
