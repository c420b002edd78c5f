"""Carry an analyst's inputs from a built workbook into a rebuilt one.

``infercost build NEW.yaml --keep-inputs OLD.xlsx`` reads every input cell of
the old workbook (as it stands, edited or not) and lays it over the book
loaded from the new pricebook files:

- scenario assumptions (volume, token mix, overheads, gates, growth), the
  forecast months, the crossover range and the sensitivity grids are always
  carried: they are the analyst's, whatever the new files say;
- a provider input (a rate, fixed or egress amount, tier, SLA, latency) is
  carried only when the analyst *overrode* it: when the workbook's value
  differs from the value the workbook was built with (its metadata sheet).
  Every other price comes from the new snapshot. A kept override is marked
  in the new workbook (an orange cell and a note), and the new workbook's
  metadata keeps the new pricebook's value, so the override is found again
  on the next rebuild;
- what cannot be carried (an input of a scenario or provider that the new
  pricebook no longer has, a cell holding text instead of a number) is
  reported: nothing is dropped silently.

:func:`read_current` is also what ``infercost assumptions`` and a workbook
side of ``infercost diff`` read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import InputError
from .layout import INPUTS, PRICEBOOK, build_plan
from .plan import Plan, a1
from .pricebook import Book
from .report import count
from .verify import (
    Finding,
    as_saved,
    check_inputs_rows,
    check_pricebook_rows,
    check_renamed_sheets,
    read_inputs,
    read_workbook,
)

#: Input rows of the Inputs sheet that are carried as whole lists.
GRIDS = ("input_shares", "volume_factors")
#: Provider inputs whose meaning depends on the row's pricing kind: an
#: override of one is not carried onto a row whose kind changed (a per-token
#: rate on a row that became fixed would be charged on top of its fixed price).
PRICE_FIELDS = ("input_rate", "output_rate", "fixed_monthly")


@dataclass
class Current:
    """A workbook's inputs as they stand, next to the book it was built from."""

    path: Path
    built: Book  # from the metadata sheet: what the workbook was built with
    book: Book  # ``built`` with every readable input cell applied
    plan: Plan  # the plan of ``built``: where each input cell is
    problems: dict[tuple[Any, ...], str]  # input key -> why it cannot be read
    changed: list[str]  # inputs that differ from ``built``, as verify says

    def inputs(self) -> dict[tuple[Any, ...], Any]:
        """Every input key of the workbook -> its current value."""
        scenarios = {s.id: s for s in self.book.scenarios}
        providers = {p.id: p for p in self.book.providers}
        out: dict[tuple[Any, ...], Any] = {}
        for _, _, _, cell in self.plan.inputs():
            key = cell.key
            if key is None:
                continue
            if key[0] == "scenario":
                out[key] = getattr(scenarios[key[1]], key[2])
            elif key[0] == "provider":
                out[key] = getattr(providers[key[1]], key[2])
            elif key[0] == "book":
                out[key] = getattr(self.book, key[1])
            else:
                out[key] = getattr(self.book, key[0])[key[1]]
        return out

    def require_clean(self) -> None:
        """Raise InputError naming the first unreadable input, if any."""
        if self.problems:
            first = next(iter(self.problems.values()))
            more = len(self.problems) - 1
            extra = f" (and {more} more)" if more else ""
            raise InputError(
                f"cannot read the inputs: {first}{extra}", file=str(self.path)
            )


def read_current(path: Path) -> Current:
    """Read workbook ``path``: the built book and its inputs as they stand now.

    Raises InputError when ``path`` is not an infercost workbook. Inputs that
    cannot be read (text in a number cell, a provider row moved or deleted)
    keep their built value in :attr:`Current.book` and are listed in
    :attr:`Current.problems`.
    """
    workbook = read_workbook(Path(path))
    plan = build_plan(workbook.built)
    for finding in check_renamed_sheets(workbook, plan):
        if finding.sheet in (INPUTS, PRICEBOOK):  # the sheets inputs are read from
            raise InputError(f"{finding.sheet}: {finding.message}", file=str(path))
    row_findings, misplaced = check_pricebook_rows(workbook)
    for finding in check_inputs_rows(workbook, plan):
        raise InputError(
            f"{finding.sheet}!{finding.cell}: {finding.message}", file=str(path)
        )
    book, findings, changed = read_inputs(workbook, plan, misplaced)
    problems: dict[tuple[Any, ...], str] = {}
    where = {
        (title, a1(row, col)): cell.key
        for title, row, col, cell in plan.inputs()
        if cell.key is not None
    }
    for finding in findings:
        key = where.get((finding.sheet, finding.cell))
        if key is not None:
            problems[key] = _where(finding)
    for finding in row_findings:
        pid = finding.expected
        if pid in misplaced:
            problems[("provider", pid)] = _where(finding)
    return Current(Path(path), workbook.built, book, plan, problems, changed)


def _where(finding: Finding) -> str:
    return f"{finding.sheet}!{finding.cell}: {finding.message}"


# ---------------------------------------------------------------------------


@dataclass
class Item:
    """One input carried: its name, the value kept and the new pricebook's."""

    name: str
    value: Any
    pricebook: Any  # the new pricebook's value
    built: Any = None  # the value the old workbook was built with

    @property
    def differs(self) -> bool:
        return not same(self.value, self.pricebook)

    @property
    def edited(self) -> bool:
        """Differs from the value the old workbook was built with."""
        return not same(self.value, self.built)


@dataclass
class KeepReport:
    """What ``--keep-inputs`` did, for the log (see :meth:`lines`)."""

    source: str
    carried: list[Item] = field(default_factory=list)
    overrides: list[Item] = field(default_factory=list)
    not_carried: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: The new files had no scenarios: the old workbook's were kept, so the
    #: carried values are compared with what it was built with instead.
    own_scenarios: bool = False

    def lines(self) -> list[tuple[str, str]]:
        """(level, text) pairs: "info", "debug" or "warning", in reading order."""
        out: list[tuple[str, str]] = []
        differ = self.differ()
        if self.own_scenarios:
            against = (
                "from what the old workbook was built with; the new files have no "
                "scenarios"
            )
        else:
            against = "from the new pricebook"
        verb = "differs" if len(differ) == 1 else "differ"
        out.append(
            (
                "info",
                f"kept inputs from {self.source}: carried {len(self.carried)} "
                f"assumptions and settings ({len(differ)} {verb} {against}), "
                f"{count(len(self.overrides), 'analyst override')}; "
                f"{len(self.not_carried)} could not be carried",
            )
        )
        for item in differ:
            was = (
                f"the old workbook was built with {show(item.built)}"
                if self.own_scenarios
                else f"new pricebook: {show(item.pricebook)}"
            )
            out.append(("info", f"  carried {item.name} = {show(item.value)} ({was})"))
        for item in self.carried:
            if item not in differ:
                out.append(("debug", f"  carried {item.name} = {show(item.value)}"))
        for item in self.overrides:
            out.append(
                (
                    "info",
                    f"  override kept: {item.name} = {show(item.value)} (new "
                    f"pricebook: {show(item.pricebook)}; the old workbook was "
                    f"built with {show(item.built)})",
                )
            )
        for note in self.notes:
            level = "warning" if note.startswith("warning:") else "info"
            out.append((level, f"  {note}"))
        for text in self.not_carried:
            out.append(("warning", f"  not carried: {text}"))
        return out

    def differ(self) -> list[Item]:
        """The carried values that differ from the new pricebook's (from what
        the old workbook was built with, when the new files have no
        scenarios): the analyst's, which the log names."""
        if self.own_scenarios:
            return [item for item in self.carried if item.edited]
        return [item for item in self.carried if item.differs]

    def kept(self) -> list[tuple[str, Any]]:
        """(name, value) of the carried values that differ and the overrides
        kept: what a build from the new pricebook alone would not give."""
        return [(item.name, item.value) for item in self.differ() + self.overrides]


def keep_inputs(new: Book, old: Current) -> tuple[Book, KeepReport]:
    """``new`` with the inputs of workbook ``old`` laid over it (module docstring).

    Returns the book to build and the report of what was carried, overridden
    and not carried. ``new`` itself is not changed.
    """
    report = KeepReport(str(old.path), own_scenarios=_own_scenarios(old) in new.files)
    scenarios = {s.id: replace(s) for s in new.scenarios}
    providers = {p.id: replace(p) for p in new.providers}
    overrides: dict[tuple[str, str], Any] = {}
    carried: dict[tuple[str, str], Any] = {}
    settings: dict[str, Any] = {}
    grids = {name: list(getattr(old.book, name)) for name in GRIDS}
    built_providers = {p.id: p for p in old.built.providers}
    current_providers = {p.id: p for p in old.book.providers}
    current_scenarios = {s.id: s for s in old.book.scenarios}
    lost_scenarios: dict[str, list[str]] = {}

    def instead(key: tuple[Any, ...]) -> str:
        """Which value the new workbook has for an input that is not carried."""
        if key[0] == "scenario":
            if key[1] not in scenarios:
                return "its scenario is not in the new pricebook"
            value = getattr(scenarios[key[1]], key[2])
            if report.own_scenarios:
                return (
                    f"the value the old workbook was built with, {show(value)}, is used"
                )
        elif key[0] == "provider":
            if key[1] not in providers:
                return "its provider is not in the new pricebook"
            value = getattr(providers[key[1]], key[2])
        else:
            value = getattr(new, key[1])
        return f"the new pricebook's {show(value)} is used"

    lost_providers: dict[str, list[str]] = {}
    unreadable: set[str] = set()

    for _, _, _, cell in old.plan.inputs():
        key = cell.key
        if key is None:
            continue
        name = cell.name or f"{key[0]}[{key[1]}]"
        kind = key[0]
        if kind == "provider" and key[:2] in old.problems:
            if key[1] not in unreadable:  # say it once a provider
                unreadable.add(key[1])
                used = (
                    "its values come from the new pricebook"
                    if key[1] in providers
                    else "it is not in the new pricebook"
                )
                report.not_carried.append(
                    f"provider '{key[1]}': {old.problems[key[:2]]}; overrides "
                    f"in its row, if any, could not be read; {used}"
                )
            continue
        problem = old.problems.get(key)
        if kind in GRIDS:
            if problem and grids[kind] is not None:
                report.not_carried.append(
                    f"{kind}: {problem}; the new pricebook's whole grid "
                    f"{show(list(getattr(new, kind)))} is used"
                )
                grids[kind] = None
            continue
        if problem:
            report.not_carried.append(f"{name}: {problem}; {instead(key)}")
            continue
        if kind == "scenario":
            sid, fname = key[1], key[2]
            value = getattr(current_scenarios[sid], fname)
            if sid not in scenarios:
                lost_scenarios.setdefault(sid, []).append(f"{fname} {show(value)}")
                continue
            priced = getattr(scenarios[sid], fname)
            report.carried.append(Item(name, value, priced, cell.value))
            if not same(value, priced):
                carried[(sid, fname)] = priced
            setattr(scenarios[sid], fname, value)
        elif kind == "book":
            value = getattr(old.book, key[1])
            report.carried.append(Item(name, value, getattr(new, key[1]), cell.value))
            settings[key[1]] = value
        elif kind == "provider":
            pid, fname = key[1], key[2]
            value = getattr(current_providers[pid], fname)
            built = getattr(built_providers[pid], fname)
            if same(value, built):
                continue  # not overridden: the new snapshot's price applies
            if pid not in providers:
                lost_providers.setdefault(pid, []).append(
                    f"{fname} {show(value)} (built with {show(built)})"
                )
                continue
            priced = getattr(providers[pid], fname)
            was, now = built_providers[pid].pricing, providers[pid].pricing
            if fname in PRICE_FIELDS and was != now:
                report.not_carried.append(
                    f"override {name} = {show(value)}: the row's pricing changed "
                    f"from {was} to {now} in the new pricebook; its {fname} "
                    f"{show(priced)} is used"
                )
                continue
            if same(value, priced):
                report.notes.append(
                    f"override {name} = {show(value)} equals the new pricebook's "
                    "value: no longer marked as an override"
                )
                continue
            report.overrides.append(Item(name, value, priced, built))
            setattr(providers[pid], fname, value)
            overrides[(pid, fname)] = priced

    for sid, values in lost_scenarios.items():
        report.not_carried.append(
            f"scenario '{sid}' is not in the new pricebook; its assumptions were "
            f"dropped: {', '.join(values)}"
        )
    for pid in built_providers:
        if pid in providers:
            continue
        dropped = lost_providers.get(pid)
        if dropped:
            report.not_carried.append(
                f"provider '{pid}' is not in the new pricebook; its overrides "
                f"were dropped: {', '.join(dropped)}"
            )
        else:
            report.notes.append(
                f"provider '{pid}' is not in the new pricebook (it had no "
                "override to carry)"
            )
    for s in new.scenarios:
        if s.id not in current_scenarios:
            report.notes.append(
                f"scenario '{s.id}' is new: its assumptions come from the new pricebook"
            )
    added = [p.id for p in new.providers if p.id not in built_providers]
    if added:
        are, their = ("is", "its") if len(added) == 1 else ("are", "their")
        report.notes.append(
            f"{count(len(added), 'provider')} {are} new ({their} prices come from "
            f"the new pricebook): {', '.join(added[:10])}"
            + (", ..." if len(added) > 10 else "")
        )

    shares = grids["input_shares"]
    factors = grids["volume_factors"]
    for name, grid in (("input_shares", shares), ("volume_factors", factors)):
        if grid is not None:
            report.carried.append(
                Item(name, grid, list(getattr(new, name)), getattr(old.built, name))
            )
    months = settings.get("forecast_months", new.forecast_months)
    # The old workbook's Forecast sheet had this many month columns.
    columns = max(old.built.forecast_months, new.forecast_months, months)
    book = replace(
        new,
        scenarios=[scenarios[s.id] for s in new.scenarios],
        providers=[providers[p.id] for p in new.providers],
        input_shares=shares if shares is not None else list(new.input_shares),
        volume_factors=factors if factors is not None else list(new.volume_factors),
        forecast_months=months,
        forecast_columns=columns if columns != months else None,
        crossover_min_tokens=settings.get(
            "crossover_min_tokens", new.crossover_min_tokens
        ),
        crossover_max_tokens=settings.get(
            "crossover_max_tokens", new.crossover_max_tokens
        ),
        overrides=overrides,
        carried=carried,
        files=[*new.files, f"{old.path} (inputs kept)"],
        warnings=list(new.warnings),
    )
    from .model import eligibility

    for s in book.scenarios:
        if not any(eligibility(p, s)[0] for p in book.providers):
            report.notes.append(
                f"warning: the gates of scenario '{s.id}' leave no eligible "
                "provider in the new pricebook (it shows no ranking)"
            )
    if book.crossover_min_tokens >= book.crossover_max_tokens:
        report.not_carried.append(
            "crossover range: from is not below to; the new pricebook's range "
            f"{show(new.crossover_min_tokens)} to {show(new.crossover_max_tokens)} "
            "is used"
        )
        book.crossover_min_tokens = new.crossover_min_tokens
        book.crossover_max_tokens = new.crossover_max_tokens
    return book, report


# ---------------------------------------------------------------------------


def same(a: Any, b: Any) -> bool:
    """Whether two input values are the same once written to a workbook.

    A save keeps a number's first 15 or 16 significant digits (see
    :data:`~generator.verify.SAVED_DIGITS`), so a value read back can differ
    from the one written in the 16th or 17th: compare at 15.
    """
    if isinstance(a, list) or isinstance(b, list):
        return (
            isinstance(a, list)
            and isinstance(b, list)
            and len(a) == len(b)
            and all(same(x, y) for x, y in zip(a, b, strict=True))
        )
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if a == b:
            return True
        if not (math.isfinite(a) and math.isfinite(b)):
            return False
        return as_saved(float(a)) == as_saved(float(b))
    return bool(a == b)


def show(value: Any) -> str:
    """A value as the log shows it: 1,600,000,000; 0.35; [0.2, 0.3]; unknown."""
    if value is None:
        return "(empty)"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e5:
        return f"{value:,.0f}"
    if isinstance(value, float):
        # The digits a saved workbook keeps: two values that differ show apart.
        return f"{value:.15g}"
    if isinstance(value, int) and abs(value) >= 1e5:
        return f"{value:,}"
    return str(value)


#: What a price snapshot alone lacks and a scenarios file holds.
SCENARIO_SECTIONS = ("scenarios", "forecast", "sensitivity")


def load_with_scenarios(paths: list[Path], scenarios: Book, name: str) -> Book:
    """Load pricebook ``paths``, with ``scenarios``' scenarios if they have none.

    A price snapshot alone (an import, say) has no ``scenarios`` section: the
    scenarios, and the forecast and sensitivity settings the files do not
    give, come from the book ``scenarios`` instead, as if a scenarios file
    named ``name`` followed the files. Raises InputError (with ``name`` as
    its file when those scenarios are at fault, such as a gate no provider
    passes).
    """
    from .document import book_to_document, dump_document
    from .pricebook import _read_data, _read_file, merge_parts
    from .yamlsource import parse_yaml

    if not paths:
        raise InputError("no pricebook given")
    parts = [_read_file(Path(p)) for p in paths]
    given = {key for part in parts for key in part.sections}
    if "scenarios" not in given:
        whole = book_to_document(scenarios)
        doc = {"format": 1}
        doc.update({k: whole[k] for k in SCENARIO_SECTIONS if k not in given})
        doc["scenarios"] = whole["scenarios"]
        data, source = parse_yaml(dump_document(doc), name)
        parts.append(_read_data(data, source))
    return merge_parts(parts)


def load_new_book(paths: list[Path], old: Current) -> Book:
    """Load the new pricebook files; the old workbook's scenarios if they have none.

    A price snapshot alone (an import, say) has no ``scenarios`` section; the
    rebuilt workbook then keeps the old workbook's scenarios, which
    :func:`keep_inputs` fills with their current values. An error in those
    scenarios (a gate no new provider passes) names the old workbook's cell.
    """
    name = _own_scenarios(old)
    try:
        return load_with_scenarios(paths, old.book, name)
    except InputError as exc:
        if exc.file != name:
            raise
        raise _at_input_cell(exc, old) from None


def _own_scenarios(old: Current) -> str:
    """What the book's files call the old workbook's scenarios, when used."""
    return f"{old.path} (its scenarios)"


def _at_input_cell(error: InputError, old: Current) -> InputError:
    """``error`` about ``scenarios[i].field`` of the old workbook's scenarios,
    pointing at that input's cell in the workbook instead of a YAML line."""
    import re

    found = re.fullmatch(r"scenarios\[(\d+)\]\.(\w+)", error.field or "")
    if found is None:
        return InputError(error.problem, file=str(old.path), field=error.field)
    scenario = old.book.scenarios[int(found.group(1))].id
    key = ("scenario", scenario, found.group(2))
    for title, row, col, cell in old.plan.inputs():
        if cell.key == key:
            return InputError(
                error.problem,
                file=str(old.path),
                field=f"{title}!{a1(row, col)}: {cell.name}",
            )
    return InputError(error.problem, file=str(old.path), field=error.field)


def load_previous(previous: Path, book: Book) -> Any:
    """The ``--previous`` side: a workbook, or a pricebook with ``book``'s
    scenarios when it has none (as ``diff --scenarios`` adds a file to both)."""
    from .diff import load_side, snapshot

    if Path(previous).suffix.lower() in (".xlsx", ".xlsm"):
        return load_side(previous)
    name = "the scenarios of this build"
    try:
        old = load_with_scenarios([Path(previous)], book, name)
    except InputError as exc:
        if exc.file != name:
            raise
        raise InputError(
            exc.problem, file=str(previous), field=f"with {name}, {exc.field}"
        ) from None
    return snapshot(old, str(previous), "pricebook")


@dataclass
class Rebuild:
    """What :func:`rebuild` did: the build, what was kept, what changed."""

    build: Any  # generator.build.BuildReport
    kept: KeepReport | None
    diff: Any  # generator.diff.Diff | None


def rebuild(
    paths: list[Path],
    out: Path,
    keep_from: Path | None = None,
    previous: Path | None = None,
) -> Rebuild:
    """Build ``paths`` into ``out``, keeping ``keep_from``'s inputs, and with a
    Changes sheet against ``previous`` (a pricebook or a workbook), each when
    given."""
    from .build import write_book
    from .diff import changes_sheet, diff_books, snapshot
    from .pricebook import load_book

    kept = None
    if keep_from is not None:
        old = read_current(keep_from)
        book, kept = keep_inputs(load_new_book(paths, old), old)
    else:
        book = load_book(paths)
    diff = None
    extra = []
    if previous is not None:
        label = ", ".join(str(p) for p in paths)
        diff = diff_books(
            load_previous(previous, book), snapshot(book, label, "pricebook")
        )
        extra.append(changes_sheet(diff))
    written = write_book(book, out, extra, kept.kept() if kept else ())
    return Rebuild(written, kept, diff)


def edited_rows(current: Current) -> list[str]:
    """Ids of the providers whose prices or tiers were edited in the workbook."""
    built = {p.id: p for p in current.built.providers}
    return [p.id for p in current.book.providers if built.get(p.id) != p]


def assumptions_text(current: Current, scenarios_only: bool = False) -> str:
    """The workbook's current inputs as a full pricebook document (YAML text).

    ``infercost build`` takes the text directly; the workbook it builds has
    the same inputs as the one read. With ``scenarios_only``, only the
    scenarios, the forecast length and the sensitivity grids: a file to give
    ``build`` after a new price snapshot (it names no provider, so it fits
    any). Raises InputError when an input cell cannot be read (a number cell
    holding text, a moved provider row).
    """
    import datetime as dt

    from .document import book_to_document, dump_document

    current.require_clean()
    book = current.book
    doc = book_to_document(book)  # the months input, and the columns if more
    header = [
        f"The inputs of {current.path} as they stood on "
        f"{dt.date.today().isoformat()}, written by 'infercost assumptions'.",
        "Build it with: infercost build THIS_FILE.yaml",
    ]
    if scenarios_only:
        doc = {
            "format": doc["format"],
            "scenarios": doc["scenarios"],
            "forecast": {  # no provider rows: the file fits any price snapshot
                k: v for k, v in doc["forecast"].items() if k != "providers"
            },
            "sensitivity": doc["sensitivity"],
        }
        header[1] = "Build it with prices: infercost build PRICES.yaml THIS_FILE.yaml"
        return dump_document(doc, "\n".join(header))
    if current.changed:
        differ = "differs" if len(current.changed) == 1 else "differ"
        header.append(
            f"{count(len(current.changed), 'input')} {differ} from the pricebook "
            "the workbook was built from:"
        )
        header += [f"  {line}" for line in current.changed]
    return dump_document(doc, "\n".join(header))
