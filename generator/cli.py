"""The command line: a thin layer over the library, one function a command.

Errors a user can cause become one line on stderr and exit status 2 (1 for a
failed verification); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from . import __version__
from .errors import InfercostError

log = logging.getLogger("infercost")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PRICEBOOK = ROOT / "pricebooks" / "2026-02-21.yaml"
DEFAULT_OUT = ROOT / "out"


class _Group(click.Group):
    """Turns InfercostError into one line and its exit status."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except InfercostError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="infercost")
@click.option("-v", "--verbose", count=True, help="Say more on stderr (-vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@click.option("--debug", is_flag=True, help="Show a traceback for every error.")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool, debug: bool) -> None:
    """Compare LLM inference costs: YAML pricebooks in, a verified Excel model out.

    \b
    Start with:
      infercost build                  # the February 2026 reference workbook
      infercost show pricebooks/2026-02-21.yaml
      infercost verify out/2026-02-21.xlsx
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    level = logging.ERROR if quiet else (logging.DEBUG if verbose else logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def _paths(pricebooks: tuple[Path, ...]) -> list[Path]:
    return list(pricebooks) if pricebooks else [DEFAULT_PRICEBOOK]


def _default_out(pricebooks: list[Path]) -> Path:
    return DEFAULT_OUT / (pricebooks[0].stem + ".xlsx")


@main.command()
@click.argument("pricebooks", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Workbook to write (default: out/<first pricebook's name>.xlsx).",
)
def build(pricebooks: tuple[Path, ...], output: Path | None) -> None:
    """Build the cost workbook from PRICEBOOKS (YAML files, merged in order).

    With no PRICEBOOKS, builds the February 2026 reference book into
    out/2026-02-21.xlsx. Later files replace earlier sections (scenarios,
    forecast, ...) and add providers, so a new price snapshot combines with
    your own assumptions:

    \b
      infercost build pricebooks/2026-02-21.yaml
      infercost build prices.yaml my-scenarios.yaml -o out/mine.xlsx
    """
    from .build import build_workbook

    paths = _paths(pricebooks)
    out = output or _default_out(paths)
    report = build_workbook(paths, out)
    for warning in report.warnings:
        log.warning("warning: %s", warning)
    log.info(
        "wrote %s: %d providers, %d scenarios, %d sheets, %d charts",
        out,
        report.providers,
        report.scenarios,
        report.sheets,
        report.charts,
    )


@main.command()
@click.argument("pricebooks", nargs=-1, type=click.Path(path_type=Path))
def show(pricebooks: tuple[Path, ...]) -> None:
    """Print rankings, multipliers and break-evens of PRICEBOOKS in the terminal.

    \b
      infercost show pricebooks/2026-02-21.yaml
    """
    from .pricebook import load_book
    from .report import render_show

    book = load_book(_paths(pricebooks))
    for warning in book.warnings:
        log.warning("warning: %s", warning)
    click.echo(render_show(book))


@main.command()
@click.argument("workbook", type=click.Path(path_type=Path))
@click.option(
    "--engine",
    type=click.Choice(["auto", "libreoffice", "gnumeric", "cached"]),
    default="auto",
    show_default=True,
    help="Who computes the formulas: LibreOffice or Gnumeric recalculate "
    "a private copy; 'cached' takes the values saved in the file (as "
    "Excel saved them). auto: LibreOffice, else Gnumeric, else cached.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--tolerance",
    type=float,
    default=1e-9,
    show_default=True,
    help="Relative tolerance for comparing numbers.",
)
@click.option(
    "--timeout",
    type=float,
    default=600,
    show_default=True,
    help="Seconds the engine may take.",
)
def verify(
    workbook: Path, engine: str, as_json: bool, tolerance: float, timeout: float
) -> None:
    """Check that WORKBOOK's formulas still compute the model.

    Reads the inputs from the workbook as they stand (edited or not),
    recomputes every output in Python, compares each formula with the one
    infercost writes, each defined name with its cell, and each result with
    a real engine's. Exit status 0 when all agree, 1 on any mismatch, 2 when
    the file is not an infercost workbook.

    \b
      infercost verify out/2026-02-21.xlsx
      infercost verify --engine gnumeric --json edited.xlsx
    """
    import json

    from .verify import render, verify_workbook

    result = verify_workbook(workbook, engine, tolerance, timeout)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        click.echo(render(result))
    sys.exit(result.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
