"""The exceptions infercost raises, each carrying its command-line exit status.

Every error a user can cause is an :class:`InfercostError`; the CLI prints its
message on one line and exits with :attr:`InfercostError.exit_code`. Anything
else is a bug and gets a traceback (always with ``--debug``).
"""

from __future__ import annotations

import errno
import os

#: Paths longer than this are shortened in messages (the middle is cut).
LONG_PATH = 120


class InfercostError(Exception):
    """Base class; ``str(error)`` is the one line shown to the user."""

    exit_code = 2


class InputError(InfercostError):
    """Bad input: a pricebook, scenario file or workbook that cannot be used.

    The message reads ``file:line:column: field: what is wrong (got ...)``;
    line and column are 1-based and left out when unknown.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line:
                where += f":{self.line}"
                if self.column:
                    where += f":{self.column}"
            where += ": "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.problem}"


class OutputError(InfercostError):
    """The output cannot be written where asked (exit status 2)."""


class VerificationFailed(InfercostError):
    """The workbook's formulas disagree with the model (exit status 1)."""

    exit_code = 1


def short_path(path: object, limit: int = LONG_PATH) -> str:
    """``path`` as text, its middle cut to ``...`` when longer than ``limit``.

    The start and the end (where the file name and extension are) are kept,
    with the full length, so that a 5,000-character name makes a readable line.
    """
    text = os.fsdecode(path) if isinstance(path, (bytes, os.PathLike)) else str(path)
    if len(text) <= limit:
        return text
    keep = (limit - 3) // 2
    return f"{text[:keep]}...{text[-keep:]} ({len(text):,} characters)"


def os_error_message(exc: OSError) -> str:
    """One line for an OSError on a path: the path (shortened) and what is wrong.

    A name too long for the file system says how long it is and the limit.
    """
    problem = os_error_problem(exc)
    if exc.filename is None:
        return problem
    where = short_path(exc.filename)
    if exc.filename2 is not None:
        where += f" -> {short_path(exc.filename2)}"
    return f"{where}: {problem}"


def os_error_problem(exc: OSError) -> str:
    """What went wrong in ``exc``, without the path (see os_error_message)."""
    if exc.errno == errno.ENAMETOOLONG and exc.filename is not None:
        return _too_long(os.fsdecode(exc.filename))
    return exc.strerror or str(exc)


def _too_long(path: str) -> str:
    """Why ``path`` is too long: one of its names, or the whole path."""
    longest = max(path.split(os.sep), key=len)
    folder = os.path.dirname(path) or "."
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    if len(os.fsencode(longest)) > name_max:
        return (
            f"the file name is too long ({len(os.fsencode(longest)):,} bytes; "
            f"the file system allows {name_max}); choose a shorter name"
        )
    return (
        f"the path is too long ({len(os.fsencode(path)):,} bytes); choose a shorter one"
    )
