"""The command line: a thin layer over the library, one function a command.

Errors a user can cause become one line on stderr and exit status 2 (1 for a
failed verification); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import errno
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__, stopping
from .errors import InfercostError, os_error_message

if TYPE_CHECKING:
    from .build import BuildReport

log = logging.getLogger("infercost")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PRICEBOOK = ROOT / "pricebooks" / "2026-02-21.yaml"
DEFAULT_OUT = ROOT / "out"


#: Exit status after Ctrl-C, as a shell reports a command ended by SIGINT.
EXIT_INTERRUPTED = 128 + signal.SIGINT


class _Group(click.Group):
    """Turns every error a user can cause into one line and its exit status.

    An InfercostError gives its own status (2 for bad input, 1 for a failed
    verification); an OSError on a path the user gave (a name too long, a
    permission denied) gives 2 and names the path; Ctrl-C gives 130 (click
    would print "Aborted!" and exit 1). ``--debug`` prints the traceback first.
    A closed pipe (``infercost show | head``) is left to click, which ends
    quietly.
    """

    def invoke(self, ctx: click.Context) -> object:
        _exit_cleanly_on_sigterm()
        try:
            return super().invoke(ctx)
        except InfercostError as exc:
            self._fail(ctx, str(exc), exc.exit_code)
        except KeyboardInterrupt:
            if sys.stderr.isatty():
                click.echo(err=True)  # end the line the terminal's ^C is on
            self._fail(ctx, "interrupted (Ctrl-C)", EXIT_INTERRUPTED)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise
            self._fail(ctx, os_error_message(exc), 2)
        return None  # pragma: no cover - _fail always exits

    @staticmethod
    def _fail(ctx: click.Context, message: str, status: int) -> None:
        if ctx.obj and ctx.obj.get("debug"):
            import traceback

            traceback.print_exc(file=sys.stderr)
        click.echo(f"Error: {message}", err=True)
        ctx.exit(status)


def _terminated(signum: int, frame: object) -> None:
    stopping.stop()  # holds even where the SystemExit below is lost
    raise SystemExit(128 + signum)


def _exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so cleanup runs as for Ctrl-C.

    Python's default for SIGTERM ends the process at once: a temporary
    workbook would stay behind and a LibreOffice started for verify or
    --pdf (in its own process group) would run on. As an exception, the
    ``finally`` blocks kill the engine and remove temporary files.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminated)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="infercost")
@click.option("-v", "--verbose", count=True, help="Say more on stderr (-vv: debug).")
@click.option(
    "-q", "--quiet", is_flag=True, help="Print only errors (no progress bar)."
)
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
    from . import progress

    # A bar on stderr for long work, when stderr is a terminal (see progress).
    progress.enable(not quiet)


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
@click.option(
    "--pdf",
    is_flag=True,
    help="Also write a PDF of the workbook beside it (needs LibreOffice).",
)
@click.option(
    "--keep-inputs",
    "keep_from",
    type=click.Path(path_type=Path),
    help="Carry the inputs edited in this earlier workbook into the new one "
    "(assumptions, settings, overridden prices); see docs/regenerate.md.",
)
@click.option(
    "--previous",
    type=click.Path(path_type=Path),
    help="Add a Changes sheet against this earlier pricebook or workbook "
    "(a price snapshot alone is compared under this build's scenarios).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite the output even if it is open in Excel or LibreOffice, "
    "its inputs were edited, or it is not an infercost workbook.",
)
def build(
    pricebooks: tuple[Path, ...],
    output: Path | None,
    pdf: bool,
    keep_from: Path | None,
    previous: Path | None,
    force: bool,
) -> None:
    """Build the cost workbook from PRICEBOOKS (YAML files, merged in order).

    With no PRICEBOOKS, builds the February 2026 reference book into
    out/2026-02-21.xlsx. Later files replace earlier sections (scenarios,
    forecast, ...) and add providers, so a new price snapshot combines with
    your own assumptions. An existing workbook is replaced only when no
    spreadsheet has it open and its inputs are as infercost wrote them
    (--keep-inputs carries edited inputs over, --force overwrites them):

    \b
      infercost build pricebooks/2026-02-21.yaml
      infercost build prices.yaml my-scenarios.yaml -o out/mine.xlsx
      infercost build --pdf            # and out/2026-02-21.pdf
      infercost build new.yaml --keep-inputs old.xlsx --previous old.xlsx
    """
    from .build import build_workbook, check_output

    paths = _paths(pricebooks)
    out = output or _default_out(paths)
    if keep_from is not None or previous is not None:
        check_output(out, paths, force=force, keep_from=keep_from)
        report = _rebuild(paths, out, keep_from, previous)
    else:
        report = build_workbook(paths, out, force=force)
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
    if pdf:
        from .pdf import export_pdf

        log.info("wrote %s", export_pdf(out))


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

    from .errors import InfercostError

    def failed(message: str, status: int) -> None:
        if as_json:  # a script reading stdout gets JSON; the error line follows
            error = {"ok": False, "workbook": str(workbook), "error": message}
            click.echo(json.dumps({**error, "exit_code": status}, indent=2))

    try:
        # Imported here, inside the try: a stop while it loads gets JSON too.
        from .verify import render, verify_workbook

        result = verify_workbook(workbook, engine, tolerance, timeout)
    except InfercostError as exc:
        failed(str(exc), exc.exit_code)
        raise
    except KeyboardInterrupt:
        failed("interrupted (Ctrl-C)", EXIT_INTERRUPTED)
        raise
    except SystemExit as exc:  # SIGTERM (see _exit_cleanly_on_sigterm)
        if isinstance(exc.code, int) and exc.code > 128:
            failed(f"stopped by signal {exc.code - 128}", exc.code)
        raise
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        click.echo(render(result))
    sys.exit(result.exit_code)


def _rebuild(
    paths: list[Path], out: Path, keep_from: Path | None, previous: Path | None
) -> BuildReport:
    """``build --keep-inputs`` / ``--previous``: log what was kept and changed."""
    from .keep import rebuild

    done = rebuild(paths, out, keep_from, previous)
    levels = {"info": logging.INFO, "debug": logging.DEBUG, "warning": logging.WARNING}
    if done.kept is not None:
        for level, text in done.kept.lines():
            log.log(levels[level], "%s", text)
    if done.diff is not None:
        from .report import count

        diff = done.diff
        log.info(
            "Changes sheet: against %s: %s added, %d removed, %s, %s flipped",
            previous,
            count(len(diff.providers_added), "provider"),
            len(diff.providers_removed),
            count(len(diff.provider_changes), "price and tier change"),
            count(sum(e.flipped for e in diff.effects), "recommendation"),
        )
    return done.build


@main.command()
@click.argument("workbook", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="YAML file to write ('-': standard output).",
)
@click.option(
    "--scenarios-only",
    is_flag=True,
    help="Write only the scenarios, forecast length and sensitivity grids, "
    "to combine with a new price file.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite the output even if it is a workbook name or a file "
    "infercost did not write (never the workbook being read).",
)
def assumptions(
    workbook: Path, output: Path, scenarios_only: bool, force: bool
) -> None:
    """Write WORKBOOK's current inputs as a pricebook YAML file.

    Every input as it stands in the workbook (scenario assumptions, forecast
    and grid settings, prices, tiers), with the rest of the pricebook it was
    built from, as one document that 'infercost build' takes directly: the
    workbook it builds has the same inputs.

    With --scenarios-only, the file holds no providers and goes after a new
    price snapshot (later files replace the scenarios of earlier ones); price
    edits made in the workbook stay behind (--keep-inputs carries them).

    An existing file is replaced only when infercost wrote it (its header
    comment says so), unless --force; the workbook itself never is.

    \b
      infercost assumptions out/edited.xlsx -o scenarios/finance-march.yaml
      infercost build scenarios/finance-march.yaml
      infercost assumptions out/edited.xlsx --scenarios-only -o scenarios/finance.yaml
      infercost build pricebooks/2026-04-01.yaml scenarios/finance.yaml
    """
    from .document import check_text_output, write_text
    from .keep import assumptions_text, edited_rows, read_current
    from .report import count

    check_text_output(output, [(workbook, "the workbook")], force=force)
    current = read_current(workbook)
    text = assumptions_text(current, scenarios_only)
    write_text(output, text)
    if scenarios_only and (rows := edited_rows(current)):
        log.warning(
            "not written (--scenarios-only): edited prices or tiers of %s: %s; "
            "carry them with 'infercost build NEW.yaml --keep-inputs %s'",
            count(len(rows), "provider"),
            ", ".join(rows[:5]) + (" ..." if len(rows) > 5 else ""),
            workbook,
        )
    log.info(
        "wrote %s: the inputs of %s (%d %s from the pricebook it was built from)",
        output,
        workbook,
        len(current.changed),
        "differs" if len(current.changed) == 1 else "differ",
    )


@main.command()
@click.argument("old", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option(
    "--scenarios",
    "scenario_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A scenario file added to each pricebook side (for price-only "
    "snapshots such as an import); repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON.")
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=40,
    show_default=True,
    help="Rows shown per table (--json shows all).",
)
def diff(
    old: Path,
    new: Path,
    scenario_files: tuple[Path, ...],
    as_json: bool,
    limit: int,
) -> None:
    """Show what changed from OLD to NEW and what it does to the model.

    Each side is a pricebook (YAML) or a built workbook (.xlsx, its inputs as
    they stand). Lists providers added and removed, every price and tier
    change with old, new and percent, and per scenario: rank moves, cost and
    forecast-total deltas, break-evens that moved, appeared or vanished, and
    recommendations that flipped. Exit status 0 whether or not anything
    changed.

    \b
      infercost diff pricebooks/2026-02-21.yaml pricebooks/2026-03-21.yaml
      infercost diff out/2026-02-21.xlsx pricebooks/2026-03-21.yaml --json
    """
    import json

    from .diff import diff_books, load_side, render_diff

    result = diff_books(load_side(old, scenario_files), load_side(new, scenario_files))
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, default=str))
    else:
        click.echo(render_diff(result, limit))


@main.group(name="import")
def import_() -> None:
    """Turn a public price list into a pricebook (YAML)."""


@import_.command(name="litellm")
@click.argument("prices", type=click.Path(path_type=Path))
@click.option(
    "--provider",
    "providers",
    multiple=True,
    help="Keep entries of this litellm_provider (e.g. openai, bedrock); repeatable.",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    help="Keep entries whose key matches this glob (e.g. 'gpt-4o*'); repeatable.",
)
@click.option(
    "--mapping",
    type=click.Path(path_type=Path),
    help="YAML rules setting quality_tier, sla and latency_ms by model glob.",
)
@click.option(
    "--price-date",
    help="The date LiteLLM's prices were read, YYYY-MM-DD (default: today).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Pricebook to write, e.g. pricebooks/litellm.yaml ('-': standard output).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite the output even if it is a workbook name or a file "
    "infercost did not write (never a file being read).",
)
def import_litellm_command(
    prices: Path,
    providers: tuple[str, ...],
    models: tuple[str, ...],
    mapping: Path | None,
    price_date: str | None,
    output: Path,
    force: bool,
) -> None:
    """Import LiteLLM's model price map (model_prices_and_context_window.json).

    Per-token text-generation models become pricebook rows in $ per 1M
    tokens, with source and date. Quality tier, SLA and latency are not in
    the file: they stay unknown (a scenario gate excludes unknown rows) unless
    a --mapping file sets them. The file has no scenarios; build it with
    ungated ones (or, with a --mapping, gated ones). An existing file is
    replaced only when infercost wrote it, unless --force:

    \b
      infercost import litellm prices.json --provider openai -o pricebooks/oai.yaml
      infercost build pricebooks/oai.yaml templates/ungated-scenarios.yaml
    """
    from .document import check_text_output, write_text
    from .errors import InputError
    from .litellm import (
        apply_mapping,
        dump_pricebook_yaml,
        import_litellm,
        load_mapping,
    )
    from .report import count

    inputs = [(prices, "the price map")]
    if mapping is not None:
        inputs.append((mapping, "the mapping file"))
    check_text_output(output, inputs, force=force)
    rules = load_mapping(mapping) if mapping is not None else None
    result = import_litellm(
        prices,
        providers=list(providers) or None,
        models=list(models) or None,
        price_date=price_date,
    )
    for warning in result.warnings:
        log.warning("warning: %s", warning)
    if not result.imported:
        raise InputError("no entry imported; nothing written", file=str(prices))
    document = result.document
    mapped: list[str] = []
    if rules is not None:
        document = apply_mapping(document, rules, mapped)
    for warning in mapped:
        log.warning("warning: %s", warning)
    write_text(output, dump_pricebook_yaml(document))
    skipped = sum(result.skipped.values())
    log.info(
        "wrote %s: imported %s of %s (prices of %s); skipped %d",
        output,
        count(result.imported, "entry", "entries"),
        prices,
        document["pricebook"]["price_date"],
        skipped,
    )
    for reason, number in result.skipped.items():
        log.info("  skipped %5d: %s", number, reason)
    for kind, number in result.ignored_price_kinds.items():
        log.debug("  price kind not imported on %5d rows: %s", number, kind)
    tiers = any(row.get("quality_tier") is not None for row in document["providers"])
    scenarios = "reference" if tiers else "ungated"
    log.info(
        "build it with: infercost build %s templates/%s-scenarios.yaml%s",
        output,
        scenarios,
        " (gated on the tiers the mapping set)" if tiers else "",
    )


if __name__ == "__main__":  # pragma: no cover
    main()
