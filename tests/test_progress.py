"""Long work shows a progress bar on stderr when it is a terminal; -q and
redirected stderr show none; small work shows none."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
FEB = ROOT / "pricebooks" / "2026-02-21.yaml"
CLI = [sys.executable, "-c", "from generator.cli import main; main()"]


@pytest.fixture(scope="module")
def big_book(tmp_path_factory) -> Path:
    """The February book with its per-token rows repeated to 130 providers."""
    data = yaml.safe_load(FEB.read_text(encoding="utf-8"))
    rows = [p for p in data["providers"] if p["pricing"] == "per_token"]
    extra = []
    for n in range(130 - len(data["providers"])):
        row = dict(rows[n % len(rows)])
        row["id"] = f"copy_{n}"
        row["label"] = f"Copy {n}"
        extra.append(row)
    data["providers"] += extra
    path = tmp_path_factory.mktemp("progress") / "big.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def on_terminal(argv: list[str]) -> tuple[int, str]:
    """Run ``argv`` with stderr on a pseudo-terminal; (exit status, stderr)."""
    leader, follower = pty.openpty()
    try:
        child = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=follower,
            cwd=ROOT,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed with the child
                break
            if not chunk:
                break
            chunks.append(chunk)
        status = child.wait(timeout=300)
    finally:
        os.close(leader)
    return status, b"".join(chunks).decode("utf-8", errors="replace")


def test_big_build_on_a_terminal_shows_a_bar(big_book, tmp_path):
    status, err = on_terminal(
        [*CLI, "build", str(big_book), "-o", str(tmp_path / "b.xlsx")]
    )
    assert status == 0, err
    assert "laying out" in err
    assert "writing" in err
    assert "100%" in err
    assert "[#" in err
    assert f"wrote {tmp_path / 'b.xlsx'}" in err


def test_quiet_shows_no_bar(big_book, tmp_path):
    argv = [*CLI, "-q", "build", str(big_book), "-o", str(tmp_path / "b.xlsx")]
    status, err = on_terminal(argv)
    assert status == 0, err
    assert err.strip() == ""
    assert (tmp_path / "b.xlsx").is_file()


def test_redirected_stderr_shows_no_bar(big_book, tmp_path):
    done = subprocess.run(
        [*CLI, "build", str(big_book), "-o", str(tmp_path / "b.xlsx")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "writing" not in done.stderr
    assert "\r" not in done.stderr
    assert "wrote" in done.stderr


def test_small_build_shows_no_bar(tmp_path):
    status, err = on_terminal([*CLI, "build", str(FEB), "-o", str(tmp_path / "f.xlsx")])
    assert status == 0, err
    assert "writing" not in err
    assert "laying out" not in err


class FakeTerminal:
    """A text stream that says it is a terminal and keeps what was written."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_verify_of_a_big_workbook_shows_its_steps(built_workbook, monkeypatch):
    """verify names each step on its bar (threshold lowered to the small book)."""
    from generator import progress
    from generator.verify import verify_workbook

    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.setattr(progress, "VERIFY_MIN_BYTES", 0)
    monkeypatch.setattr(progress, "_enabled", True)
    result = verify_workbook(built_workbook, "cached")
    assert result.ok
    for step in ("reading the workbook", "checking formulas", "comparing values"):
        assert step in terminal.text
    assert "100%" in terminal.text
