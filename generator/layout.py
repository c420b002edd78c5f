"""Where every cell of the workbook goes, with its formula and its model value.

:func:`build_plan` lays out one sheet after another. Each formula is written
once per row pattern (rows are providers, columns are steps or a timeline) and
its cached value comes from :mod:`generator.model`, not from evaluating the
formula, so that the verifier can compare the two.

Conventions: scenario-level figures have defined names ``<quantity>_<scenario>``
(``input_share_agent``), provider inputs ``<quantity>_<provider>``
(``input_rate_io_net``) and headline outputs ``<quantity>_<scenario>_<provider>``
(``cost_agent_io_net``). Gates left empty mean "no gate".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from . import __version__, progress
from . import model as m
from .charts import add_charts
from .errors import InputError
from .plan import NA_VALUE, Plan, SheetPlan, Validation, a1, area, ref
from .pricebook import (
    PROVIDER_NAMES,
    SCENARIO_CALCULATIONS,
    Book,
    Provider,
    Scenario,
)

SUMMARY = "Summary"
INPUTS = "Inputs"
PRICEBOOK = "Pricebook"
COSTS = "Costs"
RANKING = "Ranking"
MULTIPLIERS = "Multipliers"
BREAKEVEN = "Breakeven"
FORECAST = "Forecast"
SENSITIVITY = "Sensitivity"
CHECKS = "Checks"
NOTES = "Notes"
METADATA = "_infercost"
SHEETS = (
    SUMMARY,
    INPUTS,
    PRICEBOOK,
    COSTS,
    RANKING,
    MULTIPLIERS,
    BREAKEVEN,
    FORECAST,
    SENSITIVITY,
    CHECKS,
    NOTES,
    METADATA,
)
#: Marks a workbook as made by infercost, in cell A2 of the metadata sheet:
#: "infercost-workbook N", N the format of its formulas. Format 2 (2026-12-04)
#: ranks by a shifted key and snaps near-equal prices; a format 1 workbook
#: still regenerates with --keep-inputs (its inputs sit where they did).
WORKBOOK_FORMAT = 2
WORKBOOK_MARK = f"infercost-workbook {WORKBOOK_FORMAT}"
#: The marks of workbooks whose inputs this version reads: format -> mark.
READABLE_MARKS = {1: "infercost-workbook 1", 2: WORKBOOK_MARK}
#: Break-even pairs a scenario above which the Breakeven sheet lists only the
#: pricebook's headline pairs instead of every fixed x per-token pair.
PAIRS_ALL_LIMIT = 1000
CHUNK = 15000  # code points: at most 30,000 UTF-16 units, under the 32,767 cap

STAY, EVALUATE, NO_FIXED = m.STAY, m.EVALUATE, m.NO_FIXED
NO_FIXED_ELIGIBLE, FIXED_ONLY, NO_ELIGIBLE = (
    m.NO_FIXED_ELIGIBLE,
    m.FIXED_ONLY,
    m.NO_ELIGIBLE,
)
CHECKS_HOLD = "TRUE: every check on the Checks sheet holds"
CHECKS_FAIL = "FALSE: a check fails, see the Checks sheet"

#: The scenario assumptions on the Inputs sheet: (field, heading, unit, style).
SCENARIO_FIELDS = (
    ("base_tokens", "Base volume", "tokens / month", "input:tokens"),
    ("input_share", "Input share", "share of tokens", "input:share"),
    ("retry_rate", "Retry rate", "extra tokens", "input:share"),
    ("guardrail_rate", "Guardrail rate", "extra tokens", "input:share"),
    ("cache_hit_rate", "Cache hit rate", "share served from cache", "input:share"),
    ("min_quality_tier", "Minimum quality tier", "1-5, empty = no gate", "input:int"),
    ("min_sla", "Minimum SLA", "availability, empty = no gate", "input:sla"),
    ("max_latency_ms", "Maximum latency", "ms, empty = no gate", "input:int"),
    ("growth_rate", "Monthly growth", "volume, month over month", "input:share"),
)

#: The Pricebook sheet's columns: (field, heading, style).
PRICEBOOK_COLUMNS = (
    ("id", "Id", "id"),
    ("label", "Provider", "text"),
    ("model", "Model", "text"),
    ("pricing", "Pricing", "text"),
    ("input_rate", "Input rate ($ / 1M tokens)", "input:rate"),
    ("output_rate", "Output rate ($ / 1M tokens)", "input:rate"),
    ("fixed_monthly", "Fixed ($ / month)", "input:money"),
    ("egress_monthly", "Egress ($ / month)", "input:money"),
    ("quality_tier", "Quality tier (1-5)", "input:int"),
    ("sla", "SLA (availability)", "input:sla"),
    ("latency_ms", "Latency (ms)", "input:int"),
    ("source", "Source", "text"),
    ("checked", "Price checked", "date"),
    ("note", "Note", "text"),
)
PB_COL = {name: i for i, (name, _, _) in enumerate(PRICEBOOK_COLUMNS)}
PB_FIRST = 4  # first provider row on the Pricebook sheet (0-based)

#: Provider inputs that carry a defined name ``<field>_<provider>``.
PROVIDER_INPUTS = PROVIDER_NAMES

# Costs sheet: one block a scenario.
(
    C_ID,
    C_LABEL,
    C_PRICING,
    C_BLENDED,
    C_INCOST,
    C_OUTCOST,
    C_FIXED,
    C_EGRESS,
    C_COST,
    C_TIER,
    C_SLA,
    C_LAT,
    C_ELIG,
    C_REASON,
    C_KEY,
    C_RANK,
    C_ORDER,
    C_TOKENKEY,
) = range(18)
COSTS_HEADINGS = (
    "Id",
    "Provider",
    "Pricing",
    "Blended rate ($ / 1M tokens)",
    "Input cost ($ / month)",
    "Output cost ($ / month)",
    "Fixed ($ / month)",
    "Egress ($ / month)",
    "Monthly cost ($)",
    "Tier gate (1 = pass)",
    "SLA gate (1 = pass)",
    "Latency gate (1 = pass)",
    "Eligible (1 = yes)",
    "Reason",
    "Rank key ($, eligible)",
    "Rank",
    "Ranking position",
    "Per-token key ($, eligible)",
)
SCEN_ROWS = SCENARIO_CALCULATIONS


@dataclass
class Block:
    """Rows of one scenario's provider table on a sheet (0-based, inclusive)."""

    first: int
    last: int


class Layout:
    """Builds the plan; keeps where each block went for later sheets."""

    def __init__(self, book: Book) -> None:
        self.book = book
        self.providers = book.providers
        self.scenarios = book.scenarios
        self.n = len(book.providers)
        self.plan = Plan([SheetPlan(title) for title in SHEETS])
        self.costs: dict[str, Block] = {}
        self.scen_cells: dict[str, dict[str, tuple[int, int]]] = {}
        self.pb_last = PB_FIRST + self.n - 1
        self._names: dict[str, str] = {}
        self._refs: dict[tuple[Any, ...], list[str]] = {}
        self._areas: dict[tuple[Any, ...], str] = {}

    # -- helpers -----------------------------------------------------------
    def sheet(self, title: str) -> SheetPlan:
        return self.plan.sheet(title)

    def name(self, name: str, owner: str) -> str:
        """Claim defined name ``name``; two claims are an input error."""
        if name in self._names:
            raise InputError(
                f"defined name '{name}' would be made by both {self._names[name]} "
                f"and {owner}; rename one of their ids"
            )
        self._names[name] = owner
        return name

    # The sheets refer to the same Pricebook and Costs cells hundreds of
    # thousands of times in a big book: each reference is spelled once.

    def pb(self, field: str, index: int, abs_col: bool = True) -> str:
        """Reference to a Pricebook cell of provider ``index``."""
        key = ("pb", field, abs_col)
        refs = self._refs.get(key)
        if refs is None:
            col = PB_COL[field]
            refs = [
                ref(PRICEBOOK, PB_FIRST + i, col, False, abs_col) for i in range(self.n)
            ]
            self._refs[key] = refs
        return refs[index]

    def pb_area(self, field: str) -> str:
        return area(PRICEBOOK, PB_FIRST, PB_COL[field], self.pb_last)

    def costs_ref(self, s: Scenario, index: int, col: int) -> str:
        key = ("costs", s.id, col)
        refs = self._refs.get(key)
        if refs is None:
            first = self.costs[s.id].first
            refs = [ref(COSTS, first + i, col, False, True) for i in range(self.n)]
            self._refs[key] = refs
        return refs[index]

    def costs_area(self, s: Scenario, col: int) -> str:
        block = self.costs[s.id]
        return area(COSTS, block.first, col, block.last)

    def lookup_area(self, s: Scenario, col: int) -> str:
        """A Costs column as INDEX reads it (see :func:`index_area`)."""
        key = ("lookup", s.id, col)
        text = self._areas.get(key)
        if text is None:
            block = self.costs[s.id]
            text = self._areas[key] = index_area(COSTS, block.first, col, block.last)
        return text

    # -- the sheets ----------------------------------------------------------
    def build(self) -> Plan:
        steps = (
            ("Inputs", self.inputs),
            ("Pricebook", self.pricebook),
            ("Costs", self.costs_sheet),
            ("Ranking", self.ranking),
            ("Multipliers", self.multipliers),
            ("Breakeven", self.breakeven),
            ("Forecast", self.forecast),
            ("Sensitivity", self.sensitivity),
            ("Checks", self.checks),
            ("Summary", self.summary),
            ("Notes", self.notes),
            ("metadata", self.metadata),
            ("column widths", self.fit_widths),
            ("charts", lambda: add_charts(self)),
        )
        big = len(self.providers) >= progress.LAYOUT_MIN_PROVIDERS
        with progress.bar("laying out", len(steps), show=big) as shown:
            for label, step in steps:
                shown.advance(0, label)
                step()
                shown.advance(1)
        book = self.book
        date = book.price_date.isoformat() if book.price_date else "undated"
        self.plan.header = f"{book.name} (prices of {date})"
        self.plan.properties = {
            "title": f"infercost: {book.name}",
            "subject": f"LLM inference cost model, prices of {date}",
            "comments": f"Built by infercost {__version__}",
        }
        return self.plan

    def fit_widths(self) -> None:
        for sheet in self.plan.sheets:
            if not sheet.hidden:
                sheet.fit_widths()

    def inputs(self) -> None:
        sh = self.sheet(INPUTS)
        sh.label(0, 0, "Inputs: workload assumptions", "title")
        sh.label(
            1, 0, "Edit the blue cells; every other sheet follows by formulas.", "note"
        )
        sh.label(2, 0, "Input", "input:text")
        sh.label(2, 1, "typed assumption (blue on pale yellow)", "note")
        sh.label(3, 0, "Formula", "calc:text")
        sh.label(3, 1, "calculated (black), locked", "note")
        sh.label(4, 0, "Link", "link:text")
        sh.label(4, 1, "taken from another sheet (green)", "note")
        top = 6
        sh.label(top, 0, "Assumption", "header")
        sh.label(top, 1, "Unit", "header")
        sh.label(top + 1, 0, "Scenario id", "label")
        sh.label(top + 2, 0, "Scenario", "label")
        for j, s in enumerate(self.scenarios):
            col = 2 + j
            sh.label(top, col, s.label, "header")
            sh.label(top + 1, col, s.id, "id")
            sh.label(top + 2, col, s.label, "text")
            cells: dict[str, tuple[int, int]] = {}
            for i, (field, _, _, style) in enumerate(SCENARIO_FIELDS):
                row = top + 3 + i
                sh.input(
                    row,
                    col,
                    getattr(s, field),
                    style,
                    self.name(f"{field}_{s.id}", f"scenario '{s.id}'"),
                    ("scenario", s.id, field),
                )
                cells[field] = (row, col)
            self.scen_cells[s.id] = cells
        for i, (_, heading, unit, _) in enumerate(SCENARIO_FIELDS):
            sh.label(top + 3 + i, 0, heading, "label")
            sh.label(top + 3 + i, 1, unit, "note")
        last_scen_row = top + 3 + len(SCENARIO_FIELDS) - 1
        last_col = 1 + len(self.scenarios)
        rows = {f: top + 3 + i for i, (f, *_) in enumerate(SCENARIO_FIELDS)}
        share = {
            "validate": "decimal",
            "criteria": "between",
            "minimum": 0,
            "maximum": 1,
            "input_title": "A share",
            "input_message": "A fraction from 0 to 1 (75% = 0.75).",
            "error_message": "Enter a fraction from 0 to 1.",
        }
        for field in (
            "input_share",
            "retry_rate",
            "guardrail_rate",
            "cache_hit_rate",
            "min_sla",
        ):
            sh.validations.append(
                Validation(
                    rows[field],
                    2,
                    rows[field],
                    last_col,
                    {**share, "ignore_blank": True},
                )
            )
        sh.validations.append(
            Validation(
                rows["base_tokens"],
                2,
                rows["base_tokens"],
                last_col,
                {
                    "validate": "decimal",
                    "criteria": ">",
                    "value": 0,
                    "input_title": "Tokens a month",
                    "input_message": "Base tokens per month before overheads (> 0).",
                    "error_message": "Enter a volume above 0.",
                },
            )
        )
        sh.validations.append(
            Validation(
                rows["min_quality_tier"],
                2,
                rows["min_quality_tier"],
                last_col,
                {
                    "validate": "integer",
                    "criteria": "between",
                    "minimum": 1,
                    "maximum": 5,
                    "ignore_blank": True,
                    "input_title": "Quality gate",
                    "input_message": "Whole number 1-5; leave empty for no gate.",
                    "error_message": "Enter a whole number from 1 to 5.",
                },
            )
        )
        sh.validations.append(
            Validation(
                rows["max_latency_ms"],
                2,
                rows["max_latency_ms"],
                last_col,
                {
                    "validate": "decimal",
                    "criteria": ">=",
                    "value": 0,
                    "ignore_blank": True,
                    "input_title": "Latency gate",
                    "input_message": "Milliseconds; leave empty for no gate.",
                    "error_message": "Enter a number >= 0.",
                },
            )
        )
        sh.validations.append(
            Validation(
                rows["growth_rate"],
                2,
                rows["growth_rate"],
                last_col,
                {
                    "validate": "decimal",
                    "criteria": ">",
                    "value": -1,
                    "input_title": "Monthly growth",
                    "input_message": "Month-over-month volume growth (5% = 0.05).",
                    "error_message": "Enter a number above -1 (-100%).",
                },
            )
        )

        row = last_scen_row + 2
        sh.label(row, 0, "Forecast and grids", "header")
        sh.label(row, 1, "Unit", "header")
        sh.label(row, 2, "Value", "header")
        row += 1
        months = self.book.forecast_columns or self.book.forecast_months
        sh.label(row, 0, "Forecast months", "label")
        sh.label(row, 1, f"months, at most {months}", "note")
        sh.input(
            row,
            2,
            self.book.forecast_months,
            "input:int",
            self.name("forecast_months", "forecast"),
            ("book", "forecast_months"),
        )
        sh.validations.append(
            Validation(
                row,
                2,
                row,
                2,
                {
                    "validate": "integer",
                    "criteria": "between",
                    "minimum": 1,
                    "maximum": months,
                    "input_title": "Forecast months",
                    "input_message": f"1 to {months}: the Forecast sheet has {months} "
                    "month columns; rebuild for more.",
                    "error_message": f"Enter a whole number from 1 to {months}.",
                },
            )
        )
        self.forecast_months_cell = (row, 2)
        row += 1
        sh.label(row, 0, "Crossover map from", "label")
        sh.label(row, 1, "tokens / month", "note")
        sh.input(
            row,
            2,
            self.book.crossover_min_tokens,
            "input:tokens",
            self.name("crossover_min_tokens", "crossover"),
            ("book", "crossover_min_tokens"),
        )
        row += 1
        sh.label(row, 0, "Crossover map to", "label")
        sh.label(row, 1, "tokens / month", "note")
        sh.input(
            row,
            2,
            self.book.crossover_max_tokens,
            "input:tokens",
            self.name("crossover_max_tokens", "crossover"),
            ("book", "crossover_max_tokens"),
        )
        sh.validations.append(
            Validation(
                row - 1,
                2,
                row,
                2,
                {
                    "validate": "decimal",
                    "criteria": ">",
                    "value": 0,
                    "input_title": "Volume",
                    "input_message": "Tokens per month (> 0).",
                    "error_message": "Enter a volume above 0.",
                },
            )
        )
        row += 1
        sh.label(row, 0, "Tokens per million", "label")
        sh.label(row, 1, "constant", "note")
        sh.formula(
            row,
            2,
            "1000000",
            m.TOKENS_PER_MILLION,
            "calc:tokens",
            self.name("tokens_per_million", "constants"),
        )
        row += 1
        sh.label(row, 0, "Rank precision", "label")
        sh.label(row, 1, "decimals of $ compared when ranking", "note")
        sh.formula(
            row,
            2,
            str(m.RANK_DECIMALS),
            m.RANK_DECIMALS,
            "calc:int",
            self.name("rank_decimals", "constants"),
        )
        # Beside the precision, not below it: a row added here would move the
        # inputs below, and workbooks built before could not be regenerated.
        sh.label(row, 3, "shift added first", "note")
        sh.formula(
            row,
            4,
            f"1/{m.RANK_SHIFT_DENOMINATOR}",
            m.RANK_SHIFT,
            "calc:shift",
            self.name("rank_shift", "constants"),
        )
        row += 2
        sh.label(row, 0, "Sensitivity: input shares", "label")
        sh.label(row, 1, "share of tokens", "note")
        self.share_row = row
        for k, value in enumerate(self.book.input_shares):
            sh.input(row, 2 + k, value, "input:share", None, ("input_shares", k))
        sh.validations.append(
            Validation(row, 2, row, 1 + len(self.book.input_shares), share)
        )
        row += 1
        sh.label(row, 0, "Sensitivity: volume factors", "label")
        sh.label(row, 1, "times base volume", "note")
        self.factor_row = row
        for k, value in enumerate(self.book.volume_factors):
            sh.input(row, 2 + k, value, "input:factor", None, ("volume_factors", k))
        sh.validations.append(
            Validation(
                row,
                2,
                row,
                1 + len(self.book.volume_factors),
                {
                    "validate": "decimal",
                    "criteria": ">",
                    "value": 0,
                    "input_message": "Multiple of the base volume (> 0).",
                    "error_message": "Enter a number above 0.",
                },
            )
        )
        sh.widths = {
            0: 30,
            1: 28,
            **{
                2 + j: 16
                for j in range(
                    max(
                        len(self.scenarios),
                        len(self.book.input_shares),
                        len(self.book.volume_factors),
                    )
                )
            },
        }
        sh.freeze = (top + 1, 2)

    def scen(self, s: Scenario, field: str) -> str:
        """The defined name of a scenario figure, e.g. ``input_share_agent``."""
        return f"{field}_{s.id}"

    def pricebook(self) -> None:
        sh = self.sheet(PRICEBOOK)
        book = self.book
        date = book.price_date.isoformat() if book.price_date else "undated"
        sh.label(0, 0, f"Pricebook: {book.name}", "title")
        sh.label(
            1,
            0,
            f"List prices read on {date}, in {book.currency}. Files: "
            + ", ".join(shown_path(f) for f in book.files),
            "note",
        )
        legend = "Rates are $ per million tokens; blue cells may be edited."
        if book.overrides:
            legend += (
                " Orange cells are analyst overrides kept from an earlier "
                "workbook (see each row's Note)."
            )
        sh.label(2, 0, legend, "note")
        for col, (_, heading, _) in enumerate(PRICEBOOK_COLUMNS):
            sh.label(PB_FIRST - 1, col, heading, "header_wrap")
        for i, p in enumerate(self.providers):
            row = PB_FIRST + i
            for col, (field, _, style) in enumerate(PRICEBOOK_COLUMNS):
                value = getattr(p, field)
                if field in PROVIDER_INPUTS:
                    if (p.id, field) in book.overrides:
                        style = style.replace("input:", "override:")
                    sh.input(
                        row,
                        col,
                        value,
                        style,
                        self.name(f"{field}_{p.id}", f"provider '{p.id}'"),
                        ("provider", p.id, field),
                    )
                elif field == "note" and book.overrides:
                    sh.label(row, col, override_note(book, p), style)
                elif field == "checked":
                    sh.label(row, col, value.isoformat() if value else "", "text")
                elif field == "source":
                    sh.label(row, col, value, "url")
                else:
                    sh.label(row, col, value, style)
        last = self.pb_last
        rate = {
            "validate": "decimal",
            "criteria": ">=",
            "value": 0,
            "input_message": "An amount >= 0.",
            "error_message": "Enter a number >= 0.",
        }
        for field in ("input_rate", "output_rate", "fixed_monthly", "egress_monthly"):
            col = PB_COL[field]
            sh.validations.append(Validation(PB_FIRST, col, last, col, rate))
        col = PB_COL["quality_tier"]
        sh.validations.append(
            Validation(
                PB_FIRST,
                col,
                last,
                col,
                {
                    "validate": "integer",
                    "criteria": "between",
                    "minimum": 1,
                    "maximum": 5,
                    "ignore_blank": True,
                    "input_title": "Quality tier",
                    "input_message": "Whole number 1-5; empty when unknown.",
                    "error_message": "Enter a whole number from 1 to 5.",
                },
            )
        )
        col = PB_COL["sla"]
        sh.validations.append(
            Validation(
                PB_FIRST,
                col,
                last,
                col,
                {
                    "validate": "decimal",
                    "criteria": "between",
                    "minimum": 0,
                    "maximum": 1,
                    "ignore_blank": True,
                    "input_message": "Availability 0-1; empty = unknown.",
                    "error_message": "Enter a fraction from 0 to 1.",
                },
            )
        )
        col = PB_COL["latency_ms"]
        sh.validations.append(
            Validation(
                PB_FIRST,
                col,
                last,
                col,
                {
                    "validate": "decimal",
                    "criteria": ">=",
                    "value": 0,
                    "ignore_blank": True,
                    "input_message": "Milliseconds; empty = unknown.",
                    "error_message": "Enter a number >= 0.",
                },
            )
        )
        sh.widths = {
            0: 22,
            1: 24,
            2: 28,
            3: 10,
            4: 13,
            5: 13,
            6: 12,
            7: 12,
            8: 10,
            9: 10,
            10: 10,
            11: 40,
            12: 12,
            13: 40,
        }
        sh.freeze = (PB_FIRST, 2)

    def costs_sheet(self) -> None:
        sh = self.sheet(COSTS)
        sh.label(
            0, 0, "Costs: monthly cost per provider at each scenario's volume", "title"
        )
        sh.label(
            1,
            0,
            "cost = input tokens / 1M x input rate + output tokens / 1M x "
            "output rate + fixed + egress",
            "note",
        )
        tpm = "tokens_per_million"
        row = 3
        for s in self.scenarios:
            sid = s.id
            owner = f"scenario '{sid}'"
            sh.label(row, 0, f"Scenario: {s.label}", "subtitle")
            ov = m.overhead(s)
            eff = s.base_tokens * ov
            scen_values = {
                "overhead": (
                    "Net overhead (x)",
                    "ratio",
                    f"(1+{self.scen(s, 'retry_rate')})*(1+"
                    f"{self.scen(s, 'guardrail_rate')})*(1-"
                    f"{self.scen(s, 'cache_hit_rate')})",
                    ov,
                ),
                "effective_tokens": (
                    "Effective tokens / month",
                    "tokens",
                    f"{self.scen(s, 'base_tokens')}*overhead_{sid}",
                    eff,
                ),
                "input_tokens": (
                    "Input tokens / month",
                    "tokens",
                    f"effective_tokens_{sid}*{self.scen(s, 'input_share')}",
                    eff * s.input_share,
                ),
                "output_tokens": (
                    "Output tokens / month",
                    "tokens",
                    f"effective_tokens_{sid}*(1-{self.scen(s, 'input_share')})",
                    eff * (1 - s.input_share),
                ),
            }
            first = row + 2 + len(SCEN_ROWS) + 1
            last = first + self.n - 1
            self.costs[sid] = Block(first, last)
            elig = [m.eligibility(p, s) for p in self.providers]
            costs = [m.monthly_cost(p, s, s.base_tokens) for p in self.providers]
            ok = [e for e, _ in elig]
            token_keys = [
                m.rank_key(c) if e and not p.is_fixed else None
                for c, e, p in zip(costs, ok, self.providers, strict=True)
            ]
            best = m.cheapest_per_token(self.providers, costs, ok)
            cheapest = token_keys[best] if best is not None else None
            cheapest_row = best + 1 if best is not None else None
            key_col = area(None, first, C_TOKENKEY, last)
            scen_values["eligible_count"] = (
                "Eligible rows",
                "int",
                f"SUM({area(None, first, C_ELIG, last)})",
                sum(ok),
            )
            scen_values["cheapest_token_cost"] = (
                "Cheapest eligible per-token cost ($ / month)",
                "money",
                f'IF(COUNT({key_col})>0,MIN({key_col}),"")',
                cheapest if cheapest is not None else "",
            )
            scen_values["cheapest_token_row"] = (
                "Cheapest eligible per-token row (position in table)",
                "int",
                f'IF(COUNT({key_col})>0,MATCH(cheapest_token_cost_{sid},{key_col},0),"")',
                cheapest_row if cheapest_row is not None else "",
            )
            cells = self.scen_cells[sid]
            for i, key in enumerate(SCEN_ROWS):
                heading, fmt, formula, value = scen_values[key]
                r = row + 1 + i
                sh.label(r, 0, heading, "label")
                sh.formula(
                    r,
                    2,
                    formula,
                    value,
                    f"calc:{fmt}",
                    self.name(f"{key}_{sid}", owner),
                )
                cells[key] = (r, 2)
            head = first - 1
            for col, heading in enumerate(COSTS_HEADINGS):
                sh.label(head, col, heading, "header_wrap")
            rank = m.ranks(costs, ok)
            n_ok = sum(ok)
            ineligible_seen = 0
            rows_range = {c: area(None, first, c, last) for c in (C_KEY, C_ELIG)}
            for i, p in enumerate(self.providers):
                r = first + i
                cur = {c: a1(r, c) for c in range(len(COSTS_HEADINGS))}
                sh.label(r, C_ID, p.id, "id")
                sh.label(r, C_LABEL, p.label, "text")
                sh.label(r, C_PRICING, p.pricing, "text")
                share = self.scen(s, "input_share")
                sh.formula(
                    r,
                    C_BLENDED,
                    f"{share}*{self.pb('input_rate', i)}+(1-{share})*"
                    f"{self.pb('output_rate', i)}",
                    m.blended_rate(p, s.input_share),
                    "calc:rate",
                )
                sh.formula(
                    r,
                    C_INCOST,
                    f"input_tokens_{sid}/{tpm}*{self.pb('input_rate', i)}",
                    eff * s.input_share / m.TOKENS_PER_MILLION * p.input_rate,
                    "calc:money4",
                )
                sh.formula(
                    r,
                    C_OUTCOST,
                    f"output_tokens_{sid}/{tpm}*{self.pb('output_rate', i)}",
                    eff * (1 - s.input_share) / m.TOKENS_PER_MILLION * p.output_rate,
                    "calc:money4",
                )
                sh.formula(
                    r,
                    C_FIXED,
                    self.pb("fixed_monthly", i),
                    p.fixed_monthly,
                    "link:money",
                )
                sh.formula(
                    r,
                    C_EGRESS,
                    self.pb("egress_monthly", i),
                    p.egress_monthly,
                    "link:money",
                )
                sh.formula(
                    r,
                    C_COST,
                    f"{cur[C_INCOST]}+{cur[C_OUTCOST]}+{cur[C_FIXED]}+{cur[C_EGRESS]}",
                    costs[i],
                    "out:money4",
                    self.name(f"cost_{sid}_{p.id}", owner),
                )
                tier = self.pb("quality_tier", i)
                mint = self.scen(s, "min_quality_tier")
                sla = self.pb("sla", i)
                mins = self.scen(s, "min_sla")
                lat = self.pb("latency_ms", i)
                maxl = self.scen(s, "max_latency_ms")
                flags = gate_flags(p, s)
                sh.formula(
                    r,
                    C_TIER,
                    f"IF(ISNUMBER({mint}),IF(ISNUMBER({tier}),"
                    f"IF({tier}>={mint},1,0),0),1)",
                    flags[0],
                    "calc:int",
                )
                sh.formula(
                    r,
                    C_SLA,
                    f"IF(ISNUMBER({mins}),IF(ISNUMBER({sla}),"
                    f"IF({sla}>={mins},1,0),0),1)",
                    flags[1],
                    "calc:int",
                )
                sh.formula(
                    r,
                    C_LAT,
                    f"IF(ISNUMBER({maxl}),IF(ISNUMBER({lat}),"
                    f"IF({lat}<={maxl},1,0),0),1)",
                    flags[2],
                    "calc:int",
                )
                sh.formula(
                    r,
                    C_ELIG,
                    f"{cur[C_TIER]}*{cur[C_SLA]}*{cur[C_LAT]}",
                    int(ok[i]),
                    "calc:int",
                )
                sh.formula(
                    r,
                    C_REASON,
                    f'IF({cur[C_ELIG]}=1,"eligible",MID('
                    f"IF({cur[C_TIER]}=0,IF(ISNUMBER({tier}),"
                    f'"; quality tier below minimum","; quality tier unknown"),'
                    f'"")&IF({cur[C_SLA]}=0,IF(ISNUMBER({sla}),'
                    f'"; SLA below minimum","; SLA unknown"),"")&'
                    f"IF({cur[C_LAT]}=0,IF(ISNUMBER({lat}),"
                    f'"; latency above maximum","; latency unknown"),""),'
                    f"3,200))",
                    elig[i][1],
                    "calc:text",
                )
                sh.formula(
                    r,
                    C_KEY,
                    f'IF({cur[C_ELIG]}=1,ROUND({cur[C_COST]}+rank_shift,rank_decimals),"")',
                    m.rank_key(costs[i]) if ok[i] else "",
                    "calc:money4",
                )
                sh.formula(
                    r,
                    C_RANK,
                    f"IF({cur[C_ELIG]}=1,RANK({cur[C_KEY]},{rows_range[C_KEY]},1)"
                    f"+COUNTIF({a1(first, C_KEY, True)}:{cur[C_KEY]},"
                    f'{cur[C_KEY]})-1,"")',
                    rank[i] if rank[i] is not None else "",
                    "out:int",
                    self.name(f"rank_{sid}_{p.id}", owner),
                )
                if not ok[i]:
                    ineligible_seen += 1
                sh.formula(
                    r,
                    C_ORDER,
                    f"IF({cur[C_ELIG]}=1,{cur[C_RANK]},eligible_count_{sid}+"
                    f"COUNTIF({a1(first, C_ELIG, True)}:{cur[C_ELIG]},0))",
                    rank[i] if ok[i] else n_ok + ineligible_seen,
                    "calc:int",
                )
                sh.formula(
                    r,
                    C_TOKENKEY,
                    f'IF(AND({cur[C_ELIG]}=1,{cur[C_PRICING]}="{m.PER_TOKEN}"),'
                    f'{cur[C_KEY]},"")',
                    token_keys[i] if token_keys[i] is not None else "",
                    "calc:money4",
                )
            row = last + 3
        sh.widths = {0: 22, 1: 24, 2: 10, **{c: 14 for c in range(3, 18)}}
        sh.widths[C_REASON] = 28
        sh.freeze = (3, 2)

    def ranking(self) -> None:
        sh = self.sheet(RANKING)
        sh.label(
            0, 0, "Ranking: providers by monthly cost, eligible rows first", "title"
        )
        sh.label(
            1,
            0,
            "Sorted by formulas; rows that fail a gate follow, unranked, "
            "with the reason.",
            "note",
        )
        headings = (
            "Position",
            "Costs row",
            "Rank",
            "Id",
            "Provider",
            "Pricing",
            "Monthly cost ($)",
            "Status",
            "Chart cost ($, eligible)",
        )
        self.ranking_blocks: dict[str, Block] = {}
        row = 3
        for s in self.scenarios:
            sid = s.id
            sh.label(row, 0, f"Scenario: {s.label}", "subtitle")
            head = row + 1
            for col, heading in enumerate(headings):
                sh.label(head, col, heading, "header_wrap")
            first = head + 1
            last = first + self.n - 1
            self.ranking_blocks[sid] = Block(first, last)
            costs = [m.monthly_cost(p, s, s.base_tokens) for p in self.providers]
            elig = [m.eligibility(p, s) for p in self.providers]
            ok = [e for e, _ in elig]
            rank = m.ranks(costs, ok)
            order = m.order(costs, ok)
            order_area = self.costs_area(s, C_ORDER)
            for k in range(self.n):
                r = first + k
                i = order[k]
                p = self.providers[i]
                pos = a1(r, 0)
                idx = a1(r, 1)
                sh.formula(r, 0, f"ROWS({a1(first, 0, True)}:{pos})", k + 1, "calc:int")
                sh.formula(r, 1, f"MATCH({pos},{order_area},0)", i + 1, "calc:int")

                def pick(col: int, idx: str = idx, s: Scenario = s) -> str:
                    return f"INDEX({self.lookup_area(s, col)},{idx},1)"

                sh.formula(r, 2, pick(C_RANK), rank[i] if ok[i] else "", "out:int")
                sh.formula(r, 3, pick(C_ID), p.id, "calc:id")
                sh.formula(r, 4, pick(C_LABEL), p.label, "calc:text")
                sh.formula(r, 5, pick(C_PRICING), p.pricing, "calc:text")
                sh.formula(r, 6, pick(C_COST), costs[i], "out:money4")
                sh.formula(r, 7, pick(C_REASON), elig[i][1], "calc:status")
                cost_cell = a1(r, 6)
                sh.formula(
                    r,
                    8,
                    f"IF(AND({pick(C_ELIG)}=1,{cost_cell}>0),{cost_cell},NA())",
                    costs[i] if ok[i] and costs[i] > 0 else NA_VALUE,
                    "calc:money4",
                )
            row = last + 3
        sh.widths = {0: 9, 1: 9, 2: 7, 3: 22, 4: 24, 5: 10, 6: 16, 7: 30, 8: 14}
        sh.freeze = (3, 0)

    def multipliers(self) -> None:
        sh = self.sheet(MULTIPLIERS)
        base = self.book.baseline
        others = self.scenarios[1:]
        sh.label(
            0,
            0,
            f"Multipliers: cost in each scenario / cost in '{base.label}'",
            "title",
        )
        sh.label(
            1,
            0,
            "Per-token rows scale with volume and token mix; fixed rows "
            "stay at 1. Empty when the baseline cost is 0.",
            "note",
        )
        head = 3
        sh.label(head, 0, "Id", "header_wrap")
        sh.label(head, 1, "Provider", "header_wrap")
        sh.label(head, 2, "Pricing", "header_wrap")
        sh.label(head, 3, f"Cost, {base.label} ($ / month)", "header_wrap")
        for j, s in enumerate(others):
            sh.label(head, 4 + 3 * j, f"Cost, {s.label} ($ / month)", "header_wrap")
            sh.label(head, 5 + 3 * j, f"Multiplier, {s.label} (x)", "header_wrap")
            sh.label(
                head, 6 + 3 * j, f"Per-token multiplier, {s.label} (x)", "header_wrap"
            )
        first = head + 1
        last = first + self.n - 1
        self.mult_block = Block(first, last)
        for i, p in enumerate(self.providers):
            r = first + i
            sh.label(r, 0, p.id, "id")
            sh.label(r, 1, p.label, "text")
            sh.label(r, 2, p.pricing, "text")
            base_cost = m.monthly_cost(p, base, base.base_tokens)
            sh.formula(r, 3, self.costs_ref(base, i, C_COST), base_cost, "link:money4")
            for j, s in enumerate(others):
                cost = m.monthly_cost(p, s, s.base_tokens)
                mult = m.multiplier(p, s, base)
                c_cost, c_mult = a1(r, 4 + 3 * j), a1(r, 5 + 3 * j)
                sh.formula(
                    r, 4 + 3 * j, self.costs_ref(s, i, C_COST), cost, "link:money4"
                )
                sh.formula(
                    r,
                    5 + 3 * j,
                    f'IF({a1(r, 3)}=0,"",{c_cost}/{a1(r, 3)})',
                    mult if mult is not None else "",
                    "out:mult",
                    self.name(f"multiplier_{s.id}_{p.id}", f"provider '{p.id}'"),
                )
                sh.formula(
                    r,
                    6 + 3 * j,
                    f'IF(AND({a1(r, 2)}="{m.PER_TOKEN}",ISNUMBER({c_mult})),'
                    f'{c_mult},"")',
                    mult if (mult is not None and not p.is_fixed) else "",
                    "calc:mult",
                )
        row = last + 2
        self.mult_summary: dict[str, tuple[int, int]] = {}
        for j, s in enumerate(others):
            col = 6 + 3 * j
            rng = area(None, first, col, last)
            values = [
                m.multiplier(p, s, base) for p in self.providers if not p.is_fixed
            ]
            values = [v for v in values if v is not None]
            sh.label(row, 0, f"Per-token multipliers, {s.label}: lowest", "label")
            sh.formula(
                row,
                col,
                f'IF(COUNT({rng})>0,MIN({rng}),"")',
                min(values) if values else "",
                "out:mult",
                self.name(f"multiplier_min_{s.id}", f"scenario '{s.id}'"),
            )
            sh.label(row + 1, 0, f"Per-token multipliers, {s.label}: highest", "label")
            sh.formula(
                row + 1,
                col,
                f'IF(COUNT({rng})>0,MAX({rng}),"")',
                max(values) if values else "",
                "out:mult",
                self.name(f"multiplier_max_{s.id}", f"scenario '{s.id}'"),
            )
            self.mult_summary[s.id] = (row, col)
            row += 3
        sh.widths = {
            0: 22,
            1: 24,
            2: 10,
            **{c: 16 for c in range(3, 4 + 3 * len(others))},
        }
        sh.freeze = (first, 2)

    def breakeven(self) -> None:  # noqa: C901 - one sheet, three tables
        sh = self.sheet(BREAKEVEN)
        fixed = [(i, p) for i, p in enumerate(self.providers) if p.is_fixed]
        tokens = [(i, p) for i, p in enumerate(self.providers) if not p.is_fixed]
        sh.label(
            0,
            0,
            "Break-even: the monthly volume at which a fixed-cost row and "
            "a per-token row cost the same",
            "title",
        )
        sh.label(
            1,
            0,
            "V = ((fixed + egress of the fixed row) - (fixed + egress of the "
            "per-token row)) / (overhead x (blended rate of the per-token row - "
            "blended rate of the fixed row)) x 1M, in base tokens / month, under "
            "each scenario's profile (its input share and overhead).",
            "note",
        )
        row = 3
        # Table 1: each fixed row against the cheapest eligible per-token row.
        sh.label(
            row,
            0,
            "Fixed-cost rows against the cheapest eligible per-token row",
            "subtitle",
        )
        row += 1
        heads = (
            "Scenario",
            "Fixed row",
            "Per-token row",
            "Fixed eligible (1 = yes)",
            "Cost gap at 0 tokens ($ / month)",
            "Slope gap ($ / 1M base tokens)",
            "Status",
            "Break-even (tokens / month)",
            "Eligible break-even (tokens / month)",
            "At the lowest (1 = yes)",
        )
        for col, heading in enumerate(heads):
            sh.label(row, col, heading, "header_wrap")
        row += 1
        self.best_blocks: dict[str, Block] = {}
        self.lowest: dict[str, tuple[int, int]] = {}
        for s in self.scenarios:
            sid = s.id
            best_row_name = f"cheapest_token_row_{sid}"
            costs = [m.monthly_cost(p, s, s.base_tokens) for p in self.providers]
            ok = [m.eligibility(p, s)[0] for p in self.providers]
            best_index = m.cheapest_per_token(self.providers, costs, ok)
            best = self.providers[best_index] if best_index is not None else None
            first = row
            for i, p in fixed:
                r = row
                sh.label(r, 0, sid, "id")
                sh.label(r, 1, p.id, "id")
                has = f"ISNUMBER({best_row_name})"
                sh.formula(
                    r,
                    2,
                    f"IF({has},INDEX({self.lookup_area(s, C_ID)},"
                    f'{best_row_name},1),"none")',
                    best.id if best else "none",
                    "calc:id",
                )
                sh.formula(r, 3, self.costs_ref(s, i, C_ELIG), int(ok[i]), "link:int")
                own = self.fees(i)
                best_fixed = (
                    f"(INDEX({self.lookup_area(s, C_FIXED)},{best_row_name},1)+"
                    f"INDEX({self.lookup_area(s, C_EGRESS)},{best_row_name},1))"
                )
                gap_f = f'IF({has},{m.snap_formula(own, best_fixed)},"")'
                best_blended = (
                    f"INDEX({self.lookup_area(s, C_BLENDED)},{best_row_name},1)"
                )
                slope_f = (
                    f"IF({has},overhead_{sid}*"
                    f"{m.snap_formula(best_blended, self.costs_ref(s, i, C_BLENDED))}"
                    ',"")'
                )
                if best is not None:
                    gap = m.breakeven_gap(p, best)
                    slope = m.breakeven_slope(p, best, s)
                    be = m.breakeven(p, best, s)
                    status, volume = be.status, be.volume
                else:
                    gap, slope, status, volume = "", "", "no per-token row", None
                sh.formula(r, 4, gap_f, gap, "calc:money4")
                sh.formula(r, 5, slope_f, slope, "calc:slope")
                self._status_and_volume(sh, r, 4, 5, 6, 7, status, volume, has)
                eligible_value: object = ""
                if ok[i] and status == m.CROSSES:
                    eligible_value = volume
                elif ok[i] and status == m.FIXED_ALWAYS_CHEAPER:
                    eligible_value = 0
                sh.formula(
                    r,
                    8,
                    f'IF({a1(r, 3)}=1,IF({a1(r, 6)}="{m.CROSSES}",'
                    f'{a1(r, 7)},IF({a1(r, 6)}="{m.FIXED_ALWAYS_CHEAPER}",0,"")),'
                    f'"")',
                    eligible_value,
                    "calc:tokens",
                )
                row += 1
            last = row - 1
            self.best_blocks[sid] = Block(first, last)
            row += 1
            sh.label(
                row,
                0,
                f"{s.label}: lowest break-even of an eligible fixed-cost row "
                "against the cheapest eligible per-token row",
                "label",
            )
            found = m.lowest_breakeven(self.providers, s)
            lowest: object = "" if found is None else found
            if fixed:
                rng = area(None, first, 8, last)
                lowest_f = f'IF(COUNT({rng})>0,MIN({rng}),"")'
            else:
                lowest_f = '""'
            sh.formula(
                row,
                7,
                lowest_f,
                lowest,
                "out:tokens",
                self.name(f"lowest_breakeven_{sid}", f"scenario '{sid}'"),
            )
            self.lowest[sid] = (row, 7)
            # Which rows are at the lowest, for the Summary's lookup of the
            # pair: a flag within SNAP, not an exact MATCH (see m.at_lowest).
            low_name = f"lowest_breakeven_{sid}"
            for r in range(first, last + 1):
                value = sh.cells[(r, 8)].value
                at = (
                    found is not None
                    and isinstance(value, (int, float))
                    and m.at_lowest(value, found)
                )
                flag = m.at_lowest_formula(a1(r, 8), low_name)
                sh.formula(r, 9, flag, int(at), "calc:int")
            row += 1
            sh.label(row, 0, f"{s.label}: recommendation", "label")
            base = self.scen(s, "base_tokens")
            low = f"lowest_breakeven_{sid}"
            rec = m.recommendation(self.providers, s)
            # Fixed eligible rows: the flags of column D of this block.
            n_fixed_ok = f"SUM({area(None, first, 3, last)})" if fixed else "0"
            sh.formula(
                row,
                7,
                f'IF(eligible_count_{sid}=0,"{NO_ELIGIBLE}",'
                f'IF({n_fixed_ok}=0,"{NO_FIXED_ELIGIBLE}",'
                f"IF(ISNUMBER(cheapest_token_row_{sid}),"
                f'IF(ISNUMBER({low}),IF({m.snap_formula(base, low)}<0,"{STAY}",'
                f'"{EVALUATE}"),"{NO_FIXED}"),"{FIXED_ONLY}")))',
                rec,
                "out:text",
                self.name(f"recommendation_{sid}", f"scenario '{sid}'"),
            )
            row += 2
        if not fixed:
            sh.label(
                row,
                0,
                "The pricebook has no fixed-cost row: nothing to break even against.",
                "note",
            )
            row += 1
        # Table 2: every fixed row against every per-token row, per scenario;
        # past PAIRS_ALL_LIMIT pairs, the headline pairs only (the table would
        # grow as fixed rows x per-token rows). Pinned by
        # tests/test_workbook.py::test_many_pairs_list_the_headline_pairs_only.
        every = len(fixed) * len(tokens) <= PAIRS_ALL_LIMIT
        at = {p.id: i for i, p in enumerate(self.providers)}
        listed = (
            [(i, f, j, t) for i, f in fixed for j, t in tokens]
            if every
            else [
                (at[f_id], self.providers[at[f_id]], at[t_id], self.providers[at[t_id]])
                for f_id, t_id in self.book.breakeven_pairs
            ]
        )
        row += 1
        if every:
            sh.label(
                row, 0, "Every fixed-cost row against every per-token row", "subtitle"
            )
        else:
            sh.label(row, 0, "The headline break-even pairs", "subtitle")
            sh.label(
                row + 1,
                0,
                f"{len(fixed):,} fixed-cost rows x {len(tokens):,} per-token rows "
                f"would make {len(fixed) * len(tokens):,} pairs a scenario; above "
                f"{PAIRS_ALL_LIMIT:,} this table lists the pricebook's "
                "breakeven_pairs only. The table above has every fixed-cost row "
                "against the cheapest eligible per-token row.",
                "note",
            )
            row += 1
        row += 1
        heads2 = (
            "Scenario",
            "Fixed row",
            "Per-token row",
            "Both eligible (1 = yes)",
            "Cost gap at 0 tokens ($ / month)",
            "Slope gap ($ / 1M base tokens)",
            "Status",
            "Break-even (tokens / month)",
            "Headline pair",
        )
        for col, heading in enumerate(heads2):
            sh.label(row, col, heading, "header_wrap")
        row += 1
        pairs = set(self.book.breakeven_pairs)
        self.pair_cells: dict[tuple[str, str, str], tuple[int, int]] = {}
        for s in self.scenarios:
            sid = s.id
            ok = [m.eligibility(p, s)[0] for p in self.providers]
            for i, f, j, t in listed:
                r = row
                sh.label(r, 0, sid, "id")
                sh.label(r, 1, f.id, "id")
                sh.label(r, 2, t.id, "id")
                sh.formula(
                    r,
                    3,
                    f"{self.costs_ref(s, i, C_ELIG)}*{self.costs_ref(s, j, C_ELIG)}",
                    int(ok[i] and ok[j]),
                    "calc:int",
                )
                sh.formula(
                    r,
                    4,
                    m.snap_formula(self.fees(i), self.fees(j)),
                    m.breakeven_gap(f, t),
                    "calc:money4",
                )
                sh.formula(
                    r,
                    5,
                    f"overhead_{sid}*"
                    + m.snap_formula(
                        self.costs_ref(s, j, C_BLENDED), self.costs_ref(s, i, C_BLENDED)
                    ),
                    m.breakeven_slope(f, t, s),
                    "calc:slope",
                )
                be = m.breakeven(f, t, s)
                self._status_and_volume(
                    sh,
                    r,
                    4,
                    5,
                    6,
                    7,
                    be.status,
                    be.volume,
                    None,
                    self.name(
                        f"breakeven_{sid}_{f.id}_{t.id}",
                        f"providers '{f.id}' and '{t.id}'",
                    ),
                )
                sh.label(r, 8, "yes" if (f.id, t.id) in pairs else "", "text")
                self.pair_cells[(sid, f.id, t.id)] = (r, 7)
                row += 1
        if not fixed:
            sh.label(row, 0, "(none)", "note")
            row += 1
        self.crossover_table(sh, row + 2)
        sh.widths = {
            0: 14,
            1: 20,
            2: 22,
            3: 12,
            4: 14,
            5: 14,
            6: 20,
            7: 18,
            8: 16,
            9: 12,
        }
        sh.freeze = (3, 0)

    def fees(self, i: int) -> str:
        """Provider ``i``'s fixed fee plus egress, as a bracketed formula."""
        return f"({self.pb('fixed_monthly', i)}+{self.pb('egress_monthly', i)})"

    def _status_and_volume(
        self,
        sh: SheetPlan,
        r: int,
        gap_col: int,
        slope_col: int,
        status_col: int,
        volume_col: int,
        status: str,
        volume: float | None,
        guard: str | None,
        name: str | None = None,
    ) -> None:
        gap, slope = a1(r, gap_col), a1(r, slope_col)
        status_f = (
            f'IF({slope}>0,IF({gap}>0,"{m.CROSSES}","{m.FIXED_ALWAYS_CHEAPER}"),'
            f'IF({gap}>0,"{m.NO_CROSSOVER}","{m.FIXED_ALWAYS_CHEAPER}"))'
        )
        if guard:
            status_f = f'IF({guard},{status_f},"no per-token row")'
        sh.formula(r, status_col, status_f, status, "calc:text")
        sh.formula(
            r,
            volume_col,
            f'IF({a1(r, status_col)}="{m.CROSSES}",'
            f'{gap}/{slope}*tokens_per_million,"")',
            volume if volume is not None else "",
            "out:tokens",
            name,
        )

    def crossover_table(self, sh: SheetPlan, row: int) -> None:
        book = self.book
        n = book.crossover_points
        volumes = m.crossover_volumes(book)
        ids = book.crossover_providers
        index = {p.id: i for i, p in enumerate(self.providers)}
        sh.label(
            row,
            0,
            "Crossover map: monthly cost ($) over volume (log-spaced)",
            "subtitle",
        )
        row += 1
        self.crossover: dict[str, dict[str, object]] = {}
        for s in self.scenarios:
            sid = s.id
            sh.label(row, 0, f"{s.label} profile", "label")
            sh.label(row, 1, "Step", "header")
            step_row, vol_row = row, row + 1
            sh.label(vol_row, 1, "Volume (tokens / month)", "header")
            for k in range(n):
                col = 2 + k
                sh.formula(
                    step_row,
                    col,
                    f"COLUMNS({a1(step_row, 2, False, True)}:{a1(step_row, col)})-1",
                    k,
                    "calc:int",
                )
                sh.formula(
                    vol_row,
                    col,
                    f"crossover_min_tokens*(crossover_max_tokens/"
                    f"crossover_min_tokens)^({a1(step_row, col)}/{n - 1})",
                    volumes[k],
                    "calc:tokens",
                )
            first = vol_row + 1
            for q, pid in enumerate(ids):
                i = index[pid]
                p = self.providers[i]
                r = first + q
                sh.label(r, 0, pid, "id")
                sh.label(r, 1, p.label, "text")
                for k in range(n):
                    col = 2 + k
                    v = a1(vol_row, col, True, False)
                    value = volumes[k] * m.overhead(s) * m.blended_rate(
                        p, s.input_share
                    ) / m.TOKENS_PER_MILLION + m.fixed_part(p)
                    sh.formula(
                        r,
                        col,
                        f"{v}/tokens_per_million*overhead_{sid}*"
                        f"{self.costs_ref(s, i, C_BLENDED)}+"
                        f"{self.pb('fixed_monthly', i)}+{self.pb('egress_monthly', i)}",
                        value,
                        "calc:money",
                    )
            self.crossover[sid] = {
                "vol_row": vol_row,
                "first": first,
                "last": first + len(ids) - 1,
                "n": n,
            }
            row = first + len(ids) + 1

    def forecast(self) -> None:
        sh = self.sheet(FORECAST)
        months = self.book.forecast_columns or self.book.forecast_months
        sh.label(
            0, 0, "Forecast: monthly and cumulative cost with volume growth", "title"
        )
        sh.label(
            1,
            0,
            "Month k runs at base volume x (1 + growth)^k; fixed rows stay "
            "flat. Months beyond 'Forecast months' on Inputs count as 0.",
            "note",
        )
        first_col = 3
        last_col = first_col + months - 1
        row = 3
        wanted = self.book.forecast_providers
        chosen = [
            i for i, p in enumerate(self.providers) if wanted is None or p.id in wanted
        ]
        if wanted is not None:
            sh.label(
                2,
                0,
                f"This forecast shows {len(chosen):,} of {self.n:,} rows: the "
                "cheapest eligible rows of each scenario at build time and the "
                "crossover rows (forecast: providers: all in the pricebook for "
                "every row).",
                "note",
            )
        # One timeline for the sheet, repeated on every printed page.
        sh.label(row, 1, "Month of the forecast", "header")
        sh.label(row, 2, "", "header")
        for k in range(months):
            col = first_col + k
            sh.formula(
                row,
                col,
                f"COLUMNS({a1(row, first_col, False, True)}:{a1(row, col)})-1",
                k,
                "head:int",
            )
        timeline = row
        row += 2
        self.forecast_blocks: dict[str, dict[str, Any]] = {}
        for s in self.scenarios:
            sid = s.id
            owner = f"scenario '{sid}'"
            sh.label(row, 0, f"Scenario: {s.label}", "subtitle")
            month_row, flag_row, vol_row = row + 1, row + 2, row + 3
            sh.label(month_row, 1, "Month", "header")
            sh.label(flag_row, 1, "In forecast (1 = yes)", "label")
            sh.label(vol_row, 1, "Volume (tokens / month)", "label")
            sh.label(month_row, 2, "Total", "header")
            active = min(months, self.book.forecast_months)
            for k in range(months):
                col = first_col + k
                sh.formula(
                    month_row,
                    col,
                    f"COLUMNS({a1(month_row, first_col, False, True)}:"
                    f"{a1(month_row, col)})-1",
                    k,
                    "calc:int",
                )
                mk = a1(month_row, col)
                sh.formula(
                    flag_row,
                    col,
                    f"IF({mk}<forecast_months,1,0)",
                    1 if k < active else 0,
                    "calc:int",
                )
                sh.formula(
                    vol_row,
                    col,
                    f"{self.scen(s, 'base_tokens')}*(1+"
                    f"{self.scen(s, 'growth_rate')})^{mk}*{a1(flag_row, col)}",
                    m.forecast_volume(s, k) * (1 if k < active else 0),
                    "calc:tokens",
                )
            sh.label(row + 4, 0, "Monthly cost ($)", "header")
            first = row + 5
            for q, i in enumerate(chosen):
                p = self.providers[i]
                r = first + q
                sh.label(r, 0, p.id, "id")
                sh.label(r, 1, p.label, "text")
                values = m.forecast_costs(p, s, active) + [0.0] * (months - active)
                for k in range(months):
                    col = first_col + k
                    sh.formula(
                        r,
                        col,
                        f"({a1(vol_row, col, True)}/tokens_per_million*"
                        f"overhead_{sid}*{self.costs_ref(s, i, C_BLENDED)}+"
                        f"{self.pb('fixed_monthly', i)}+"
                        f"{self.pb('egress_monthly', i)})*{a1(flag_row, col, True)}",
                        values[k],
                        "calc:money",
                    )
                sh.formula(
                    r,
                    2,
                    f"SUM({a1(r, first_col)}:{a1(r, last_col)})",
                    sum(values),
                    "out:money",
                    self.name(f"forecast_total_{sid}_{p.id}", owner),
                )
            last = first + len(chosen) - 1
            cum_head = last + 1
            sh.label(cum_head, 0, "Cumulative cost ($)", "header")
            cfirst = cum_head + 1
            for q, i in enumerate(chosen):
                p = self.providers[i]
                r = cfirst + q
                sh.label(r, 0, p.id, "id")
                sh.label(r, 1, p.label, "text")
                values = m.forecast_costs(p, s, active) + [0.0] * (months - active)
                running = 0.0
                for k in range(months):
                    col = first_col + k
                    running += values[k]
                    src = first + q
                    sh.formula(
                        r,
                        col,
                        f"SUM({a1(src, first_col, False, True)}:{a1(src, col)})",
                        running,
                        "calc:money",
                    )
                sh.formula(r, 2, a1(r, last_col), running, "calc:money")
            self.forecast_blocks[sid] = {
                "month_row": month_row,
                "first": first,
                "last": last,
                "cfirst": cfirst,
                "clast": cfirst + len(chosen) - 1,
                "first_col": first_col,
                "last_col": last_col,
                # provider index -> row offset in the monthly and cumulative blocks
                "offset": {i: q for q, i in enumerate(chosen)},
            }
            row = cfirst + len(chosen) + 1
        sh.widths = {0: 22, 1: 24, 2: 14, **{first_col + k: 12 for k in range(months)}}
        sh.freeze = (timeline + 1, 3)

    def sensitivity(self) -> None:
        sh = self.sheet(SENSITIVITY)
        shares = self.book.input_shares
        factors = self.book.volume_factors
        sh.label(
            0, 0, "Sensitivity: monthly cost ($) by input share and by volume", "title"
        )
        sh.label(
            1,
            0,
            "At each scenario's overheads; colours run green (cheap) to red "
            "(dear) within each grid.",
            "note",
        )
        row = 3
        self.sens_blocks: dict[str, dict[str, int]] = {}
        for s in self.scenarios:
            sid = s.id
            eff = s.base_tokens * m.overhead(s)
            sh.label(row, 0, f"Scenario: {s.label}, cost by input share", "subtitle")
            head = row + 1
            sh.label(head, 0, "Id", "header")
            sh.label(head, 1, "Input share", "header")
            for k, x in enumerate(shares):
                sh.formula(
                    head,
                    2 + k,
                    ref(INPUTS, self.share_row, 2 + k, True, False),
                    x,
                    "link:share",
                )
            first = head + 1
            # The share cells of the heading, the same for every row.
            heads = [
                (2 + k, x, a1(head, 2 + k, True, False)) for k, x in enumerate(shares)
            ]
            tokens = f"effective_tokens_{sid}"
            for i, p in enumerate(self.providers):
                r = first + i
                sh.label(r, 0, p.id, "id")
                sh.label(r, 1, p.label, "text")
                input_rate = self.pb("input_rate", i)
                output_rate = self.pb("output_rate", i)
                fixed = f"{self.pb('fixed_monthly', i)}+{self.pb('egress_monthly', i)}"
                fixed_value = m.fixed_part(p)
                for col, x, xs in heads:
                    value = (
                        eff * x / m.TOKENS_PER_MILLION * p.input_rate
                        + eff * (1 - x) / m.TOKENS_PER_MILLION * p.output_rate
                        + fixed_value
                    )
                    sh.formula(
                        r,
                        col,
                        f"{tokens}*{xs}/tokens_per_million*{input_rate}+"
                        f"{tokens}*(1-{xs})/tokens_per_million*{output_rate}+{fixed}",
                        value,
                        "calc:money",
                    )
            last = first + self.n - 1
            sh.colour_scales.append((first, 2, last, 1 + len(shares)))
            row = last + 2
            sh.label(row, 0, f"Scenario: {s.label}, cost by volume", "subtitle")
            vhead = row + 1
            sh.label(vhead, 0, "Id", "header")
            sh.label(vhead, 1, "Times base volume", "header")
            for k, f in enumerate(factors):
                sh.formula(
                    vhead,
                    2 + k,
                    ref(INPUTS, self.factor_row, 2 + k, True, False),
                    f,
                    "link:factor",
                )
            vfirst = vhead + 1
            vheads = [
                (2 + k, f, a1(vhead, 2 + k, True, False)) for k, f in enumerate(factors)
            ]
            for i, p in enumerate(self.providers):
                r = vfirst + i
                sh.label(r, 0, p.id, "id")
                sh.label(r, 1, p.label, "text")
                blended = self.costs_ref(s, i, C_BLENDED)
                fixed = f"{self.pb('fixed_monthly', i)}+{self.pb('egress_monthly', i)}"
                rate = m.blended_rate(p, s.input_share)
                fixed_value = m.fixed_part(p)
                for col, f, fs in vheads:
                    value = f * eff / m.TOKENS_PER_MILLION * rate + fixed_value
                    sh.formula(
                        r,
                        col,
                        f"{fs}*{tokens}/tokens_per_million*{blended}+{fixed}",
                        value,
                        "calc:money",
                    )
            vlast = vfirst + self.n - 1
            sh.colour_scales.append((vfirst, 2, vlast, 1 + len(factors)))
            row = vlast + 2
            row = self.switch_table(sh, s, row)
            self.sens_blocks[sid] = {
                "head": head,
                "first": first,
                "last": last,
                "vhead": vhead,
                "vfirst": vfirst,
                "vlast": vlast,
            }
        width = max(len(shares), len(factors))
        sh.widths = {0: 22, 1: 24, **{2 + k: 13 for k in range(max(width, 8))}}
        sh.freeze = (3, 2)

    def switch_table(self, sh: SheetPlan, s: Scenario, row: int) -> int:
        """The input shares at which the cheapest eligible row changes."""
        sid = s.id
        owner = f"scenario '{sid}'"
        tpm = "tokens_per_million"
        costs = [m.monthly_cost(p, s, s.base_tokens) for p in self.providers]
        ok = [m.eligibility(p, s)[0] for p in self.providers]
        rank = m.ranks(costs, ok)
        top = rank.index(1) if 1 in rank else None
        cur = self.providers[top] if top is not None else None
        sh.label(
            row,
            0,
            f"Scenario: {s.label}, where the cheapest row changes with the input share",
            "subtitle",
        )
        sh.label(
            row + 1,
            0,
            "Cost at share x = A + B x with A = effective tokens / 1M "
            "x output rate + fixed + egress and B = effective tokens / 1M x "
            "(input rate - output rate); rows cross at x = (A1 - A2) / (B2 - B1).",
            "note",
        )
        r0 = row + 2
        rank_area = self.costs_area(s, C_RANK)
        top_f = f'IF(eligible_count_{sid}>0,MATCH(1,{rank_area},0),"")'
        sh.label(r0, 0, "Cheapest eligible row (position)", "label")
        sh.formula(
            r0,
            2,
            top_f,
            top + 1 if top is not None else "",
            "calc:int",
            self.name(f"cheapest_row_{sid}", owner),
        )
        sh.label(r0 + 1, 0, "Cheapest eligible row", "label")
        sh.formula(
            r0 + 1,
            2,
            f"IF(ISNUMBER(cheapest_row_{sid}),INDEX("
            f'{self.lookup_area(s, C_ID)},cheapest_row_{sid},1),"none")',
            cur.id if cur else "none",
            "out:id",
            self.name(f"cheapest_{sid}", owner),
        )

        head = r0 + 3
        for col, heading in enumerate(
            (
                "Id",
                "Provider",
                "A ($ / month)",
                "B ($ / month per share)",
                "Crosses the cheapest at share",
                "Crossing above the input share",
                "Crossing below the input share",
                "At the lowest crossing above (1 = yes)",
                "Lines cross at share (any)",
            )
        ):
            sh.label(head, col, heading, "header_wrap")
        first = head + 1
        above_vals: list[float] = []
        below_vals: list[float] = []
        a_area = index_area(None, first, 2, first + self.n - 1)
        b_area = index_area(None, first, 3, first + self.n - 1)
        a_c = f"INDEX({a_area},cheapest_row_{sid},1)"
        b_c = f"INDEX({b_area},cheapest_row_{sid},1)"
        share = self.scen(s, "input_share")
        for i, p in enumerate(self.providers):
            r = first + i
            a_r, b_r, x_r = a1(r, 2), a1(r, 3), a1(r, 4)
            sh.label(r, 0, p.id, "id")
            sh.label(r, 1, p.label, "text")
            a, b = m.switch_line(p, s)
            sh.formula(
                r,
                2,
                f"effective_tokens_{sid}/{tpm}*{self.pb('output_rate', i)}+"
                f"{self.pb('fixed_monthly', i)}+{self.pb('egress_monthly', i)}",
                a,
                "calc:money4",
            )
            sh.formula(
                r,
                3,
                f"effective_tokens_{sid}/{tpm}*"
                + m.snap_formula(self.pb("input_rate", i), self.pb("output_rate", i)),
                b,
                "calc:money4",
            )
            # Where the lines cross, at any share (column I), then in 0-1
            # (column E), as m.switch_crossing and m.switch_share give them.
            crossing = m.switch_crossing(cur, p, s) if cur and ok[i] else None
            share_at = m.switch_share(cur, p, s) if cur and ok[i] else None
            raw: object = "" if crossing is None else crossing
            cross: object = "" if share_at is None else share_at
            elig = self.costs_ref(s, i, C_ELIG)
            run_f = m.snap_formula(b_r, b_c)
            raw_r = a1(r, 8)
            sh.formula(
                r,
                8,
                f"IF(ISNUMBER(cheapest_row_{sid}),IF(AND({elig}=1,{run_f}<>0),"
                f'({m.snap_formula(a_c, a_r)})/({run_f}),""),"")',
                raw,
                "calc:ratio",
            )
            sh.formula(
                r,
                4,
                f"IF(ISNUMBER({raw_r}),IF(AND({raw_r}>=-{m.SHARE_EDGE_TEXT},"
                f'{raw_r}<=1+{m.SHARE_EDGE_TEXT}),MIN(1,MAX(0,{raw_r})),""),"")',
                cross,
                "calc:share4",
            )
            # Above or below the share by more than SNAP: a crossing at the
            # share itself is a tie at today's share, neither.
            side = m.snapped(cross, s.input_share) if cross != "" else 0.0
            up = cross if side > 0 else ""
            down = cross if side < 0 else ""
            side_f = m.snap_formula(x_r, share)
            if up != "":
                above_vals.append(up)
            if down != "":
                below_vals.append(down)
            sh.formula(
                r,
                5,
                f'IF(ISNUMBER({x_r}),IF({side_f}>0,{x_r},""),"")',
                up,
                "calc:share4",
            )
            sh.formula(
                r,
                6,
                f'IF(ISNUMBER({x_r}),IF({side_f}<0,{x_r},""),"")',
                down,
                "calc:share4",
            )
        last = first + self.n - 1
        res = last + 2
        up_rng, down_rng = area(None, first, 5, last), area(None, first, 6, last)
        sh.label(res, 0, "Cheapest row changes above input share", "label")
        sh.formula(
            res,
            4,
            f'IF(COUNT({up_rng})>0,MIN({up_rng}),"")',
            min(above_vals) if above_vals else "",
            "out:share4",
            self.name(f"switch_share_above_{sid}", owner),
        )
        sh.label(res + 1, 0, "Cheapest row changes below input share", "label")
        sh.formula(
            res + 1,
            4,
            f'IF(COUNT({down_rng})>0,MAX({down_rng}),"")',
            max(below_vals) if below_vals else "",
            "out:share4",
            self.name(f"switch_share_below_{sid}", owner),
        )
        ids = self.lookup_area(s, C_ID)
        # Which rows cross at the lowest share above, for the lookup of the
        # row that takes over: a flag within SNAP (m.at_lowest), not a MATCH.
        above_name = f"switch_share_above_{sid}"
        up_who = ""
        for i in range(self.n):
            r = first + i
            value = sh.cells[(r, 5)].value
            at = (
                bool(above_vals) and value != "" and m.at_lowest(value, min(above_vals))
            )
            if at and not up_who:
                up_who = self.providers[i].id
            flag = m.at_lowest_formula(a1(r, 5), above_name)
            sh.formula(r, 7, flag, int(at), "calc:int")
        flags = area(None, first, 7, last)
        sh.label(res + 2, 0, "Row that takes over above", "label")
        sh.formula(
            res + 2,
            4,
            f"IF(ISNUMBER(switch_share_above_{sid}),INDEX({ids},"
            f'MATCH(1,{flags},0),1),"none in 0-1")',
            up_who or "none in 0-1",
            "out:id",
            self.name(f"switch_provider_above_{sid}", owner),
        )
        return res + 4

    def checks(self) -> None:
        sh = self.sheet(CHECKS)
        sh.label(0, 0, "Checks: every one must be TRUE", "title")
        sh.label(2, 0, "Check", "header")
        sh.label(2, 1, "Result", "header")
        rows: list[tuple[str, str, bool]] = []
        for s in self.scenarios:
            sid = s.id
            blk = self.costs[sid]
            parts = "+".join(
                f"SUM({self.costs_area(s, c)})"
                for c in (C_INCOST, C_OUTCOST, C_FIXED, C_EGRESS)
            )
            rows.append(
                (
                    f"{s.label}: costs add up (parts = totals)",
                    f"ABS(SUM({self.costs_area(s, C_COST)})-({parts}))<=0.000001*"
                    f"(1+ABS(SUM({self.costs_area(s, C_COST)})))",
                    True,
                )
            )
            rows.append(
                (
                    f"{s.label}: at least one provider passes the gates",
                    f"eligible_count_{sid}>0",
                    any(m.eligibility(p, s)[0] for p in self.providers),
                )
            )
            rows.append(
                (
                    f"{s.label}: every row ranked or explained",
                    f"COUNT({self.costs_area(s, C_RANK)})=eligible_count_{sid}",
                    True,
                )
            )
            fb = self.forecast_blocks[sid]
            monthly = area(FORECAST, fb["first"], fb["last_col"], fb["last"])
            totals = area(FORECAST, fb["first"], 2, fb["last"])
            cum = area(FORECAST, fb["cfirst"], fb["last_col"], fb["clast"])
            del monthly
            rows.append(
                (
                    f"{s.label}: forecast totals equal the last cumulative month",
                    f"ABS(SUM({totals})-SUM({cum}))<=0.000001*(1+ABS(SUM({totals})))",
                    True,
                )
            )
            rows.append(
                (
                    f"{s.label}: no error values in costs",
                    "NOT(ISERROR(SUM("
                    f"{area(COSTS, blk.first, 0, blk.last, C_TOKENKEY)})))",
                    True,
                )
            )
        rows.append(
            (
                "No error values in the forecast",
                f"NOT(ISERROR(SUM({self._used_area(FORECAST)})))",
                True,
            )
        )
        rows.append(
            (
                "No error values in the sensitivity grids",
                f"NOT(ISERROR(SUM({self._used_area(SENSITIVITY)})))",
                True,
            )
        )
        rows.append(
            (
                "No error values on the break-even sheet",
                f"NOT(ISERROR(SUM({self._used_area(BREAKEVEN)})))",
                True,
            )
        )
        first = 3
        for k, (label, formula, value) in enumerate(rows):
            sh.label(first + k, 0, label, "label")
            sh.formula(first + k, 1, formula, value, "calc:bool")
        last = first + len(rows) - 1
        sh.label(last + 2, 0, "All checks hold", "label_bold")
        self.checks_hold = all(value for _, _, value in rows)
        sh.formula(
            last + 2,
            1,
            f"AND({area(None, first, 1, last)})",
            self.checks_hold,
            "out:bool",
            self.name("master_check", "checks"),
        )
        sh.widths = {0: 60, 1: 12}

    def _used_area(self, title: str) -> str:
        cells = self.sheet(title).cells
        rows = [r for r, _ in cells]
        cols = [c for _, c in cells]
        return area(title, min(rows), min(cols), max(rows), max(cols))

    def summary(self) -> None:
        """The Summary: the question, headline figures, break-evens, charts.

        Every figure is a formula over named cells. The charts are placed by
        :func:`generator.charts.add_charts` from ``summary_charts_row`` down.
        """
        sh = self.sheet(SUMMARY)
        book = self.book
        be_sheet = self.plan.sheet(BREAKEVEN)
        date = book.price_date.isoformat() if book.price_date else "undated"
        sh.label(
            0,
            0,
            "LLM inference cost: which provider, and when does fixed-cost hosting win?",
            "title",
        )
        sh.label(
            1,
            0,
            f"{book.name}; list prices of {date}. Every figure is a formula over "
            "the blue inputs of the Inputs and Pricebook sheets.",
            "note",
        )
        sh.label(
            2,
            0,
            "The question: at our volume and token mix, which provider is cheapest "
            "once the quality and SLA gates apply, and at what monthly volume does "
            "fixed-cost hosting beat paying per token?",
            "label_bold",
        )
        heads = (
            ("Scenario", ""),
            ("Volume", "tokens / month"),
            ("Cheapest eligible", "provider id"),
            ("Its cost", "$ / month"),
            ("Cheapest per-token", "provider id"),
            ("Its cost", "$ / month"),
            ("Break-even vs cheapest", "tokens / month"),
            ("Recommendation", "at this volume"),
        )
        for col, (heading, unit) in enumerate(heads):
            sh.label(4, col, heading, "header")
            sh.label(5, col, unit, "header")
        for j, s in enumerate(self.scenarios):
            r = 6 + j
            sid = s.id
            costs = [m.monthly_cost(p, s, s.base_tokens) for p in self.providers]
            ok = [m.eligibility(p, s)[0] for p in self.providers]
            rank = m.ranks(costs, ok)
            top = rank.index(1) if 1 in rank else None
            sh.label(r, 0, s.label, "label_bold")
            sh.formula(r, 1, f"base_tokens_{sid}", s.base_tokens, "link:tokens")
            sh.formula(
                r,
                2,
                f"cheapest_{sid}",
                self.providers[top].id if top is not None else "none",
                "link:id",
            )
            sh.formula(
                r,
                3,
                f"IF(ISNUMBER(cheapest_row_{sid}),INDEX("
                f'{self.lookup_area(s, C_COST)},cheapest_row_{sid},1),"")',
                costs[top] if top is not None else "",
                "out:money",
            )
            best = m.cheapest_per_token(self.providers, costs, ok)
            sh.formula(
                r,
                4,
                f"IF(ISNUMBER(cheapest_token_row_{sid}),INDEX("
                f'{self.lookup_area(s, C_ID)},cheapest_token_row_{sid},1),"none")',
                self.providers[best].id if best is not None else "none",
                "out:id",
            )
            sh.formula(
                r,
                5,
                f"IF(ISNUMBER(cheapest_token_row_{sid}),INDEX("
                f'{self.lookup_area(s, C_COST)},cheapest_token_row_{sid},1),"")',
                costs[best] if best is not None else "",
                "out:money",
            )
            low = be_sheet.cells[self.lowest[sid]].value
            sh.formula(r, 6, f"lowest_breakeven_{sid}", low, "link:tokens")
            rec = be_sheet.cells[(self.lowest[sid][0] + 1, self.lowest[sid][1])].value
            sh.formula(r, 7, f"recommendation_{sid}", rec, "out:text")
        r = 6 + len(self.scenarios)
        # In words: LibreOffice prints a logical from a saved file as 1 here.
        sh.label(r, 0, "Master check", "label_bold")
        sh.formula(
            r,
            1,
            f'IF(master_check,"{CHECKS_HOLD}","{CHECKS_FAIL}")',
            CHECKS_HOLD if self.checks_hold else CHECKS_FAIL,
            "out:text",
        )

        # Break-even: which profile each one uses, the lowest, the headline pairs.
        r += 2
        sh.label(r, 0, "Break-even, by profile", "header")
        sh.label(r, 1, "Unit", "header")
        for j, s in enumerate(self.scenarios):
            sh.label(r, 2 + j, f"{s.label} profile", "header")
        rows = [
            ("Input share", "share of tokens"),
            ("Net overhead", "x base tokens"),
            ("Lowest break-even", "tokens / month"),
            ("  of fixed-cost row", "provider id"),
            ("  vs cheapest per-token", "provider id"),
        ]
        index = {p.id: i for i, p in enumerate(self.providers)}
        pairs = [
            (f, t)
            for f, t in book.breakeven_pairs
            if (self.scenarios[0].id, f, t) in self.pair_cells
        ]
        for f, t in pairs:
            rows.append(
                (
                    f"{self.providers[index[f]].label} vs "
                    f"{self.providers[index[t]].label}",
                    "tokens / month",
                )
            )
        for k, (label, unit) in enumerate(rows):
            sh.label(r + 1 + k, 0, label, "label")
            sh.label(r + 1 + k, 1, unit, "note")
        for j, s in enumerate(self.scenarios):
            sid, col = s.id, 2 + j
            sh.formula(r + 1, col, f"input_share_{sid}", s.input_share, "link:share")
            sh.formula(r + 2, col, f"overhead_{sid}", m.overhead(s), "link:ratio")
            low = be_sheet.cells[self.lowest[sid]].value
            sh.formula(r + 3, col, f"lowest_breakeven_{sid}", low, "link:tokens")
            block = self.best_blocks[sid]
            fixed_ids = index_area(BREAKEVEN, block.first, 1, block.last)
            token_ids = index_area(BREAKEVEN, block.first, 2, block.last)
            at_lowest = area(BREAKEVEN, block.first, 9, block.last)
            at = [
                row
                for row in range(block.first, block.last + 1)
                if be_sheet.cells[(row, 9)].value == 1
            ]
            for k, (ids, src_col) in enumerate(((fixed_ids, 1), (token_ids, 2))):
                if block.last < block.first:  # no fixed-cost row at all
                    sh.label(r + 4 + k, col, "none", "id")
                    continue
                value = be_sheet.cells[(at[0], src_col)].value if at else "none"
                sh.formula(
                    r + 4 + k,
                    col,
                    f"IF(ISNUMBER(lowest_breakeven_{sid}),INDEX({ids},MATCH("
                    f'1,{at_lowest},0),1),"none")',
                    value,
                    "link:id",
                )
            for k, (f, t) in enumerate(pairs):
                name = f"breakeven_{sid}_{f}_{t}"
                be_row, be_col = self.pair_cells[(sid, f, t)]
                volume = be_sheet.cells[(be_row, be_col)].value
                status = be_sheet.cells[(be_row, be_col - 1)]
                sh.formula(
                    r + 6 + k,
                    col,
                    f"IF(ISNUMBER({name}),{name},"
                    f"{ref(BREAKEVEN, be_row, be_col - 1, True, True)})",
                    volume if volume != "" else status.value,
                    "link:tokens",
                )
        # The decision framework: beside the break-even table when it fits.
        steps = (
            "1. Gate: only rows that meet the scenario's quality tier, SLA and",
            "    latency minimums count (the Ranking sheet says why a row fails).",
            "2. Rank: the cheapest eligible row at your volume wins on price;",
            "    per-token cost grows with volume, fixed-cost rows stay flat.",
            "3. Break-even: below the lowest break-even volume, stay on",
            "    pay-per-token; at or above it, evaluate fixed-cost infrastructure.",
            "4. Re-check when prices, volume or token mix change: edit the blue",
            "    cells on Inputs and Pricebook; every figure and chart follows.",
        )
        if len(self.scenarios) <= 2:
            top, col = r, 4
        else:
            top, col = r + len(rows) + 2, 0
        sh.label(top, col, "How to decide", "header")
        for c in range(col + 1, 8):
            sh.label(top, c, "", "header")
        for k, text in enumerate(steps):
            sh.label(top + 1 + k, col, text, "label")
        r = max(r + len(rows), top + len(steps)) + 1
        sh.label(
            r,
            0,
            "Each break-even is the base volume at which a fixed-cost row and a "
            "per-token row cost the same under that scenario's profile (its input "
            "share and overheads); the Breakeven sheet has every pair.",
            "note",
        )
        self.summary_charts_row = r + 2
        sh.widths = {0: 26, 1: 18, 2: 22, 3: 14, 4: 22, 5: 14, 6: 18, 7: 40}

    def notes(self) -> None:
        sh = self.sheet(NOTES)
        book = self.book
        date = book.price_date.isoformat() if book.price_date else "undated"
        lines = [
            ("Notes", "title"),
            (f"Pricebook: {book.name}", "label_bold"),
            (f"Prices read on {date}, in {book.currency}.", "text"),
            ("Built from: " + ", ".join(shown_path(f) for f in book.files), "text"),
            (
                f"Built by infercost {__version__} on {dt.date.today().isoformat()}.",
                "text",
            ),
        ]
        if book.source:
            lines.append((f"Snapshot source: {book.source}", "text"))
        if book.notes:
            lines.append((book.notes, "text"))
        lines += [
            ("", "text"),
            ("The model", "label_bold"),
            (
                "overhead = (1 + retry rate) x (1 + guardrail rate) x "
                "(1 - cache hit rate)",
                "text",
            ),
            (
                "effective tokens = base tokens x overhead; input tokens = effective x "
                "input share; output tokens = the rest",
                "text",
            ),
            (
                "monthly cost = input tokens / 1M x input rate + output tokens / 1M x "
                "output rate + fixed monthly + egress",
                "text",
            ),
            (
                "A row is eligible when its quality tier, SLA and latency pass the "
                "scenario's gates; an unknown value fails a gate that is set.",
                "text",
            ),
            ("Ranks order eligible rows by cost; ties keep pricebook order.", "text"),
            (
                "Break-even: the base volume where a fixed-cost row and a per-token "
                "row "
                "cost the same, under each scenario's input share and overhead.",
                "text",
            ),
            ("", "text"),
            ("Limitations", "label_bold"),
            (
                "List prices only: enterprise discounts, committed-use and batch "
                "pricing "
                "are not modelled.",
                "text",
            ),
            (
                "Quality tiers, SLAs and latencies are estimates; validate them "
                "against "
                "your own evaluations and contracts.",
                "text",
            ),
            (
                "Marketplace prices (for example GPU marketplaces) move; a fixed cost "
                "is "
                "a reference estimate, not a quote.",
                "text",
            ),
            (
                "Fixed-cost rows are modelled as unlimited capacity at a flat price.",
                "text",
            ),
            ("", "text"),
            ("How to verify", "label_bold"),
            (
                "Run: infercost verify THIS_WORKBOOK.xlsx  (recalculates with "
                "LibreOffice "
                "or Gnumeric and compares every formula with the Python model)",
                "text",
            ),
            ("", "text"),
            ("Sources per provider", "label_bold"),
        ]
        for i, (content, style) in enumerate(lines):
            sh.label(i, 0, content, style)
        row = len(lines)
        for col, heading in enumerate(("Id", "Provider", "Source", "Checked", "Note")):
            sh.label(row, col, heading, "header")
        for i, p in enumerate(self.providers):
            r = row + 1 + i
            sh.label(r, 0, p.id, "id")
            sh.label(r, 1, p.label, "text")
            sh.label(r, 2, p.source, "url")
            sh.label(r, 3, p.checked.isoformat() if p.checked else "", "text")
            sh.label(r, 4, p.note, "text")
        sh.widths = {0: 24, 1: 24, 2: 50, 3: 12, 4: 50}

    def metadata(self) -> None:
        """The book as built, as JSON text in a very hidden sheet.

        The verifier reads the workbook's structure (rows, scenarios, grid
        sizes) from here and its inputs from the visible cells.
        """
        from .document import book_to_document, dump_json

        sh = self.sheet(METADATA)
        sh.hidden = True
        book = self.book
        doc = book_to_document(book)
        for row in doc["providers"]:  # the pricebook's values, not overrides
            for (pid, field), value in book.overrides.items():
                if row["id"] == pid:
                    row[field] = value
        for row in doc["scenarios"]:  # the pricebook's values, not carried ones
            for (sid, field), value in book.carried.items():
                if row["id"] == sid:
                    row[field] = value
        doc["forecast"]["months"] = book.forecast_columns or book.forecast_months
        text = dump_json(doc)
        chunks = [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
        sh.label(
            0,
            0,
            "infercost metadata: the pricebook this workbook was built "
            "from. Do not edit.",
            "text",
        )
        sh.label(1, 0, WORKBOOK_MARK, "text")
        sh.label(2, 0, str(len(chunks)), "text")
        for i, chunk in enumerate(chunks):
            sh.label(3 + i, 0, chunk, "text")


def shown_path(path: str) -> str:
    """A file as the workbook names it: relative to the current folder when
    inside it, else its name alone (no local folders go out by email)."""
    import os

    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        relative = os.path.basename(path)
    if relative.startswith(".."):
        return os.path.basename(path.split(" (")[0]) + (
            " (" + path.split(" (", 1)[1] if " (" in path else ""
        )
    return relative


def index_area(title: str | None, first: int, col: int, last: int) -> str:
    """A one-column range for INDEX, at least two rows tall.

    Gnumeric's INDEX over a single cell gives #REF! even with row and column
    given; a block of one row is read with the blank row below it, which every
    block on every sheet keeps free. Pinned by
    tests/test_properties.py::test_single_provider_in_gnumeric.
    """
    return area(title, first, col, max(last, first + 1))


def gate_flags(p: Provider, s: Scenario) -> tuple[int, int, int]:
    """The three gate flags (1 = pass) as the Costs sheet computes them."""
    tier = 1
    if s.min_quality_tier is not None:
        tier = int(p.quality_tier is not None and p.quality_tier >= s.min_quality_tier)
    sla = 1
    if s.min_sla is not None:
        sla = int(p.sla is not None and p.sla >= s.min_sla)
    lat = 1
    if s.max_latency_ms is not None:
        lat = int(p.latency_ms is not None and p.latency_ms <= s.max_latency_ms)
    return tier, sla, lat


def override_note(book: Book, p: Provider) -> str:
    """``p``'s note, after a line for each analyst override it carries."""
    kept = [
        f"analyst override: {field} was {_plain(value)} in the pricebook"
        for (pid, field), value in book.overrides.items()
        if pid == p.id
    ]
    return "; ".join(kept + ([p.note] if p.note else []))


def _plain(value: object) -> str:
    if value is None:
        return "unknown"
    return f"{value:g}" if isinstance(value, float) else str(value)


def build_plan(book: Book) -> Plan:
    """Lay out the whole workbook for ``book``."""
    return Layout(book).build()
