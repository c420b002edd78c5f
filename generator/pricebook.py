"""Pricebooks: load YAML files, validate every field, merge them into a Book.

The format is described in ``docs/pricebook-format.md``. Every rule broken is
an :class:`~generator.errors.InputError` naming file, line, column and field;
values that are allowed but probably wrong (an input rate of $5,000 per million
tokens) become warnings on :attr:`Book.warnings`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import InputError
from .yamlsource import PathKey, Source, load_yaml, parse_yaml

FORMAT_VERSION = 1
PER_TOKEN = "per_token"
FIXED = "fixed"
PRICING_KINDS = (PER_TOKEN, FIXED)

ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: An input or output rate above this ($ per 1M tokens) is probably a price per
#: thousand tokens or per token typed in the wrong unit: warn.
ABSURD_RATE = 1000.0
ABSURD_MONTHLY = 10_000_000.0

DEFAULT_SHARES = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
DEFAULT_VOLUME_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass
class Provider:
    """One provider/model combination and its list price."""

    id: str
    label: str
    model: str
    pricing: str
    input_rate: float
    output_rate: float
    fixed_monthly: float = 0.0
    egress_monthly: float = 0.0
    quality_tier: int | None = None
    sla: float | None = None
    latency_ms: float | None = None
    source: str = ""
    checked: dt.date | None = None
    note: str = ""

    @property
    def is_fixed(self) -> bool:
        return self.pricing == FIXED


@dataclass
class Scenario:
    """A workload: volume, token mix, overheads, gates and growth."""

    id: str
    label: str
    base_tokens: float
    input_share: float
    retry_rate: float = 0.0
    guardrail_rate: float = 0.0
    cache_hit_rate: float = 0.0
    min_quality_tier: int | None = None
    min_sla: float | None = None
    max_latency_ms: float | None = None
    growth_rate: float = 0.0


@dataclass
class Book:
    """Everything one workbook is built from: the merged pricebook files."""

    name: str
    price_date: dt.date | None
    providers: list[Provider]
    scenarios: list[Scenario]
    forecast_months: int = 6
    # Month columns the Forecast sheet has; None: forecast_months. A workbook
    # edited down to fewer months keeps its columns (the rest count as 0).
    forecast_columns: int | None = None
    currency: str = "USD"
    source: str = ""
    notes: str = ""
    breakeven_pairs: list[tuple[str, str]] = field(default_factory=list)
    input_shares: list[float] = field(default_factory=lambda: list(DEFAULT_SHARES))
    volume_factors: list[float] = field(
        default_factory=lambda: list(DEFAULT_VOLUME_FACTORS)
    )
    crossover_min_tokens: float = 1e7
    crossover_max_tokens: float = 1e11
    crossover_points: int = 17
    crossover_providers: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def provider(self, provider_id: str) -> Provider:
        for provider in self.providers:
            if provider.id == provider_id:
                return provider
        raise KeyError(provider_id)

    @property
    def baseline(self) -> Scenario:
        return self.scenarios[0]


# --------------------------------------------------------------------------
# Field checkers: each takes (value, source, path) and returns the clean value
# or raises InputError through source.error(path, ...).

Checker = Callable[[Any, Source, PathKey], Any]


def _got(value: Any) -> str:
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"'{shown}'"
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "a mapping"
    return repr(value) if not isinstance(value, (int, float)) else f"{value!r}"


def number(
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    above: bool = False,
    whole: bool = False,
    what: str = "a number",
) -> Checker:
    """A finite number within bounds; ``above`` makes the minimum exclusive."""

    def describe() -> str:
        parts = [what]
        if minimum is not None and maximum is not None and not above:
            parts.append(f"from {minimum:g} to {maximum:g}")
        else:
            if minimum is not None:
                parts.append(f"{'>' if above else '>='} {minimum:g}")
            if maximum is not None:
                parts.append(f"<= {maximum:g}")
        return " ".join(parts)

    def check(value: Any, source: Source, path: PathKey) -> float | int:
        scalar = source.scalars.get(path)
        if isinstance(value, bool):
            hint = ""
            if scalar and scalar.text.lower() in ("no", "yes", "on", "off", "y", "n"):
                hint = f" (YAML reads {scalar.text} as a boolean)"
            raise source.error(path, f"expected {describe()}, got {_got(value)}{hint}")
        if isinstance(value, str):
            if scalar and not scalar.quoted:
                # YAML 1.1 reads 1e6 (no dot) as text; the user meant a number.
                try:
                    value = float(value)
                except ValueError:
                    pass
            if isinstance(value, str):
                raise source.error(path, f"expected {describe()}, got {_got(value)}")
        if not isinstance(value, (int, float)):
            raise source.error(path, f"expected {describe()}, got {_got(value)}")
        if scalar and re.fullmatch(r"[-+]?0[0-9_]+", scalar.text):
            raise source.error(
                path,
                f"expected {describe()}, got '{scalar.text}' (a leading zero makes "
                f"YAML read it as octal {value}); write it without the zero",
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise source.error(path, f"expected {describe()}, got {value}")
        if whole and value != int(value):
            raise source.error(path, f"expected {describe()}, got {_got(value)}")
        if minimum is not None and (value <= minimum if above else value < minimum):
            raise source.error(path, f"expected {describe()}, got {_got(value)}")
        if maximum is not None and value > maximum:
            raise source.error(path, f"expected {describe()}, got {_got(value)}")
        return int(value) if whole else float(value)

    return check


def optional(inner: Checker) -> Checker:
    """``inner``, or None (YAML ``null`` or ``~``) for unknown / not set."""

    def check(value: Any, source: Source, path: PathKey) -> Any:
        return None if value is None else inner(value, source, path)

    return check


def text(*, required: bool = True, max_length: int = 32767) -> Checker:
    """Text as written; ``label: no`` is the text 'no', not false."""

    def check(value: Any, source: Source, path: PathKey) -> str:
        if value is None:
            if required:
                raise source.error(path, "expected text, got nothing")
            return ""
        if isinstance(value, (list, dict)):
            raise source.error(path, f"expected text, got {_got(value)}")
        scalar = source.scalars.get(path)
        out = scalar.text if scalar is not None else str(value)
        if required and not out.strip():
            raise source.error(path, "expected text, got an empty string")
        if len(out) > max_length:
            raise source.error(
                path,
                f"text of {len(out):,} characters is longer than the "
                f"{max_length:,} an Excel cell holds",
            )
        return out

    return check


def identifier(value: Any, source: Source, path: PathKey) -> str:
    """An id: lower-case letters, digits and underscores, starting with a letter."""
    if not isinstance(value, str) or not ID_RE.match(value):
        raise source.error(
            path,
            "expected an id of lower-case letters, digits and underscores that "
            f"starts with a letter (at most 40), got {_got(value)}",
        )
    return value


def choice(options: Sequence[str]) -> Checker:
    def check(value: Any, source: Source, path: PathKey) -> str:
        if value not in options:
            hint = _did_you_mean(str(value), options)
            raise source.error(
                path, f"expected one of {', '.join(options)}, got {_got(value)}{hint}"
            )
        return value

    return check


def date(value: Any, source: Source, path: PathKey) -> dt.date:
    """A calendar date, YYYY-MM-DD; a time or time zone is refused."""
    if isinstance(value, dt.datetime):
        raise source.error(
            path,
            f"expected a date YYYY-MM-DD without a time, got "
            f"'{source.scalars[path].text}'",
        )
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise source.error(path, f"expected a date YYYY-MM-DD, got {_got(value)}")


def number_list(
    checker: Checker, *, min_items: int = 1, max_items: int = 200
) -> Checker:
    def check(value: Any, source: Source, path: PathKey) -> list[float]:
        if not isinstance(value, list):
            raise source.error(path, f"expected a list of numbers, got {_got(value)}")
        if not min_items <= len(value) <= max_items:
            raise source.error(
                path,
                f"expected {min_items} to {max_items} numbers, got {len(value)}",
            )
        out = [checker(item, source, path + (i,)) for i, item in enumerate(value)]
        if len(set(out)) != len(out):
            raise source.error(path, "expected distinct numbers, got a repeat")
        return out

    return check


def id_list(value: Any, source: Source, path: PathKey) -> list[str]:
    if not isinstance(value, list):
        raise source.error(path, f"expected a list of ids, got {_got(value)}")
    return [identifier(item, source, path + (i,)) for i, item in enumerate(value)]


def id_pair(value: Any, source: Source, path: PathKey) -> tuple[str, str]:
    if not isinstance(value, list) or len(value) != 2:
        raise source.error(
            path, f"expected [fixed row id, per-token row id], got {_got(value)}"
        )
    return (
        identifier(value[0], source, path + (0,)),
        identifier(value[1], source, path + (1,)),
    )


def _did_you_mean(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --------------------------------------------------------------------------
# Section schemas: field -> (checker, required, default)

Spec = dict[str, tuple[Checker, bool, Any]]

TIER = number(1, 5, whole=True, what="a whole-number tier")
SHARE = number(0, 1, what="a share")
RATE = number(0, what="a number")

PROVIDER_SPEC: Spec = {
    "id": (identifier, True, None),
    "label": (text(), True, None),
    "model": (text(), True, None),
    "pricing": (choice(PRICING_KINDS), True, None),
    "input_rate": (RATE, True, None),
    "output_rate": (RATE, True, None),
    "fixed_monthly": (RATE, False, 0.0),
    "egress_monthly": (RATE, False, 0.0),
    "quality_tier": (optional(TIER), True, None),
    "sla": (optional(SHARE), False, None),
    "latency_ms": (optional(number(0)), False, None),
    "source": (text(), True, None),
    "checked": (date, True, None),
    "note": (text(required=False), False, ""),
}

SCENARIO_SPEC: Spec = {
    "id": (identifier, True, None),
    "label": (text(), True, None),
    "base_tokens": (number(0, 1e15, above=True), True, None),
    "input_share": (SHARE, True, None),
    "retry_rate": (SHARE, False, 0.0),
    "guardrail_rate": (SHARE, False, 0.0),
    "cache_hit_rate": (SHARE, False, 0.0),
    "min_quality_tier": (optional(TIER), False, None),
    "min_sla": (optional(SHARE), False, None),
    "max_latency_ms": (optional(number(0)), False, None),
    "growth_rate": (number(-1, 10, above=True), False, 0.0),
}

PRICEBOOK_SPEC: Spec = {
    "name": (text(), True, None),
    "price_date": (date, True, None),
    "currency": (choice(["USD"]), False, "USD"),
    "source": (text(required=False), False, ""),
    "notes": (text(required=False), False, ""),
}

FORECAST_SPEC: Spec = {
    "months": (number(1, 120, whole=True, what="a whole number of months"), True, None),
}

SENSITIVITY_SPEC: Spec = {
    "input_shares": (number_list(SHARE, min_items=2, max_items=51), False, None),
    "volume_factors": (
        number_list(number(0, 1e6, above=True), min_items=2, max_items=51),
        False,
        None,
    ),
}

CROSSOVER_SPEC: Spec = {
    "min_tokens": (number(0, 1e15, above=True), False, 1e7),
    "max_tokens": (number(0, 1e15, above=True), False, 1e11),
    "points": (number(2, 200, whole=True, what="a whole number"), False, 17),
    "providers": (id_list, False, None),
}

SECTIONS = (
    "format",
    "pricebook",
    "providers",
    "breakeven_pairs",
    "scenarios",
    "forecast",
    "sensitivity",
    "crossover",
)


def _record(spec: Spec, value: Any, source: Source, path: PathKey) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise source.error(path, f"expected a mapping of fields, got {_got(value)}")
    for key in value:
        if key not in spec:
            hint = _did_you_mean(str(key), list(spec))
            raise source.error(path + (key,), f"unknown field{hint}")
    out: dict[str, Any] = {}
    for name, (checker, required, default) in spec.items():
        if name not in value:
            if required:
                raise source.error(path, f"missing field '{name}'")
            out[name] = default
            continue
        out[name] = checker(value[name], source, path + (name,))
    return out


def _records(
    spec: Spec, value: Any, source: Source, path: PathKey, what: str
) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise source.error(path, f"expected a list of {what}, got {_got(value)}")
    return [_record(spec, item, source, path + (i,)) for i, item in enumerate(value)]


@dataclass
class _Part:
    """One file's sections, validated, with where each came from."""

    file: str
    source: Source
    sections: dict[str, Any]


def _read_file(path: Path) -> _Part:
    data, source = load_yaml(path)
    return _read_data(data, source)


def _read_data(data: Any, source: Source) -> _Part:
    if data is None:
        raise InputError("the file is empty; expected a pricebook", file=source.file)
    if not isinstance(data, dict):
        raise source.error((), f"expected a mapping of sections, got {_got(data)}")
    if "format" not in data:
        raise source.error((), "missing field 'format' (write 'format: 1' first)")
    fmt = data["format"]
    if fmt != FORMAT_VERSION or isinstance(fmt, bool):
        raise source.error(
            ("format",),
            f"expected format {FORMAT_VERSION}, got {_got(fmt)}; this infercost "
            "reads format 1",
        )
    sections: dict[str, Any] = {}
    for key, value in data.items():
        path: PathKey = (key,)
        if key == "format":
            continue
        if key not in SECTIONS:
            raise source.error(
                path, f"unknown section{_did_you_mean(str(key), SECTIONS)}"
            )
        if key == "pricebook":
            sections[key] = _record(PRICEBOOK_SPEC, value, source, path)
        elif key == "providers":
            sections[key] = _records(PROVIDER_SPEC, value, source, path, "providers")
        elif key == "scenarios":
            sections[key] = _records(SCENARIO_SPEC, value, source, path, "scenarios")
        elif key == "breakeven_pairs":
            if not isinstance(value, list):
                raise source.error(path, f"expected a list of pairs, got {_got(value)}")
            sections[key] = [
                id_pair(item, source, path + (i,)) for i, item in enumerate(value)
            ]
        elif key == "forecast":
            sections[key] = _record(FORECAST_SPEC, value, source, path)
        elif key == "sensitivity":
            sections[key] = _record(SENSITIVITY_SPEC, value, source, path)
        elif key == "crossover":
            sections[key] = _record(CROSSOVER_SPEC, value, source, path)
    return _Part(source.file, source, sections)


def load_book(paths: Sequence[Path]) -> Book:
    """Load and merge pricebook files (see ``docs/pricebook-format.md``).

    ``providers`` are joined across files; any other section given again
    replaces the earlier one (noted in :attr:`Book.warnings`).
    """
    if not paths:
        raise InputError("no pricebook given")
    parts = [_read_file(Path(p)) for p in paths]
    return merge_parts(parts)


def load_book_text(text: str, name: str) -> Book:
    """Load one pricebook document from YAML ``text`` (``name`` for messages)."""
    data, source = parse_yaml(text, name)
    return merge_parts([_read_data(data, source)])


def merge_parts(parts: list[_Part]) -> Book:
    warnings: list[str] = []
    owner: dict[str, _Part] = {}
    providers: list[tuple[dict[str, Any], _Part, int]] = []
    for part in parts:
        for key, value in part.sections.items():
            if key == "providers":
                providers += [(row, part, i) for i, row in enumerate(value)]
                continue
            if key in owner:
                warnings.append(
                    f"{part.file}: section '{key}' replaces the one in "
                    f"{owner[key].file}"
                )
            owner[key] = part

    last = parts[-1]
    if not providers:
        raise last.source.error((), "no providers: the pricebook lists no rows")
    if "scenarios" not in owner:
        raise last.source.error(
            (), "no scenarios: add a 'scenarios' section or a scenarios file"
        )
    if "pricebook" not in owner:
        raise parts[0].source.error(
            (), "missing section 'pricebook' (name, price_date)"
        )

    seen: dict[str, tuple[_Part, int]] = {}
    rows: list[Provider] = []
    for row, part, index in providers:
        if row["id"] in seen:
            first_part, first_index = seen[row["id"]]
            first_line = first_part.source.where(("providers", first_index, "id"))[0]
            raise part.source.error(
                ("providers", index, "id"),
                f"duplicate provider id '{row['id']}' (first in {first_part.file} "
                f"line {first_line})",
            )
        seen[row["id"]] = (part, index)
        rows.append(Provider(**row))
        _warn_absurd(rows[-1], part, index, warnings)

    scen_part = owner["scenarios"]
    scenarios = [Scenario(**row) for row in scen_part.sections["scenarios"]]
    if not scenarios:
        raise scen_part.source.error(("scenarios",), "expected at least one scenario")
    scen_ids: dict[str, int] = {}
    for i, scenario in enumerate(scenarios):
        if scenario.id in scen_ids:
            raise scen_part.source.error(
                ("scenarios", i, "id"), f"duplicate scenario id '{scenario.id}'"
            )
        scen_ids[scenario.id] = i

    meta = owner["pricebook"].sections["pricebook"]
    book = Book(
        name=meta["name"],
        price_date=meta["price_date"],
        currency=meta["currency"],
        source=meta["source"],
        notes=meta["notes"],
        providers=rows,
        scenarios=scenarios,
        files=[part.file for part in parts],
        warnings=warnings,
    )
    if "forecast" in owner:
        book.forecast_months = owner["forecast"].sections["forecast"]["months"]
    if "sensitivity" in owner:
        sens = owner["sensitivity"].sections["sensitivity"]
        if sens["input_shares"] is not None:
            book.input_shares = sens["input_shares"]
        if sens["volume_factors"] is not None:
            book.volume_factors = sens["volume_factors"]
    ids = {p.id: p for p in rows}
    if "breakeven_pairs" in owner:
        part = owner["breakeven_pairs"]
        for i, (fixed_id, token_id) in enumerate(part.sections["breakeven_pairs"]):
            for j, pid in enumerate((fixed_id, token_id)):
                if pid not in ids:
                    hint = _did_you_mean(pid, list(ids))
                    raise part.source.error(
                        ("breakeven_pairs", i, j), f"no provider '{pid}'{hint}"
                    )
            if not ids[fixed_id].is_fixed or ids[token_id].is_fixed:
                raise part.source.error(
                    ("breakeven_pairs", i),
                    f"expected [fixed row, per-token row], got [{fixed_id} "
                    f"({ids[fixed_id].pricing}), {token_id} ({ids[token_id].pricing})]",
                )
            book.breakeven_pairs.append((fixed_id, token_id))
    if "crossover" in owner:
        part = owner["crossover"]
        cross = part.sections["crossover"]
        if cross["min_tokens"] >= cross["max_tokens"]:
            raise part.source.error(
                ("crossover", "max_tokens"), "expected max_tokens above min_tokens"
            )
        book.crossover_min_tokens = cross["min_tokens"]
        book.crossover_max_tokens = cross["max_tokens"]
        book.crossover_points = cross["points"]
        for i, pid in enumerate(cross["providers"] or []):
            if pid not in ids:
                raise part.source.error(
                    ("crossover", "providers", i),
                    f"no provider '{pid}'{_did_you_mean(pid, list(ids))}",
                )
        book.crossover_providers = list(cross["providers"] or [])
    if not book.crossover_providers:
        book.crossover_providers = default_crossover_rows(book)
    _check_gates(book, scen_part)
    return book


def _warn_absurd(
    provider: Provider, part: _Part, index: int, warnings: list[str]
) -> None:
    for name in ("input_rate", "output_rate"):
        value = getattr(provider, name)
        if value > ABSURD_RATE:
            line = part.source.where(("providers", index, name))[0]
            warnings.append(
                f"{part.file}:{line}: providers[{index}].{name}: ${value:,.2f} per "
                "million tokens is unusually high; is it a price per thousand "
                "tokens or per token?"
            )
    for name in ("fixed_monthly", "egress_monthly"):
        value = getattr(provider, name)
        if value > ABSURD_MONTHLY:
            line = part.source.where(("providers", index, name))[0]
            warnings.append(
                f"{part.file}:{line}: providers[{index}].{name}: ${value:,.2f} a "
                "month is unusually high"
            )


def _check_gates(book: Book, part: _Part) -> None:
    from .model import eligibility  # the gate rules live with the model

    for i, scenario in enumerate(book.scenarios):
        if not any(eligibility(p, scenario)[0] for p in book.providers):
            gate = "min_quality_tier"
            if scenario.min_sla is not None:
                gate = "min_sla"
            if scenario.max_latency_ms is not None:
                gate = "max_latency_ms"
            raise part.source.error(
                ("scenarios", i, gate),
                f"the gates of scenario '{scenario.id}' leave no eligible provider",
            )


def default_crossover_rows(book: Book) -> list[str]:
    """Rows for the crossover map when the pricebook names none.

    The rows of the break-even pairs; failing that, every fixed row and the
    three cheapest per-token rows of the baseline scenario at its volume.
    """
    if book.breakeven_pairs:
        out: list[str] = []
        for pair in book.breakeven_pairs:
            out += [pid for pid in pair if pid not in out]
        return out
    from .model import monthly_cost

    fixed = [p.id for p in book.providers if p.is_fixed][:8]
    tokens = sorted(
        (p for p in book.providers if not p.is_fixed),
        key=lambda p: monthly_cost(p, book.baseline, book.baseline.base_tokens),
    )
    return fixed + [p.id for p in tokens[:3]]


def provider_fields() -> list[str]:
    return [f.name for f in fields(Provider)]
