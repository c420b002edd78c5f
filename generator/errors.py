"""The exceptions infercost raises, each carrying its command-line exit status.

Every error a user can cause is an :class:`InfercostError`; the CLI prints its
message on one line and exits with :attr:`InfercostError.exit_code`. Anything
else is a bug and gets a traceback (always with ``--debug``).
"""

from __future__ import annotations


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
