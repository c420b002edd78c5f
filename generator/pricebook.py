"""Pricebooks: load YAML files, validate every field, merge them into a Book.

The format is described in ``docs/pricebook-format.md``. Every rule broken is
an :class:`~generator.errors.InputError` naming file, line, column and field;
values that are allowed but probably wrong (an input rate of $5,000 per million
tokens) become warnings on :attr:`Book.warnings`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import InputError
from .yamlsource import (
    DECIMAL_RE,
    PathKey,
    Source,
    field_name,
    load_yaml,
    one_line,
    parse_yaml,
)

FORMAT_VERSION = 1
PER_TOKEN = "per_token"
FIXED = "fixed"
PRICING_KINDS = (PER_TOKEN, FIXED)

ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: An input or output rate above this ($ per 1M tokens) is probably a price per
#: thousand tokens or per token typed in the wrong unit: warn.
ABSURD_RATE = 1000.0
ABSURD_MONTHLY = 10_000_000.0
#: Hard limits: beyond these a value cannot be a price or a volume, and the
#: model's arithmetic could overflow (a rate of 1e300 makes every cost infinite).
MAX_RATE = 1_000_000.0
MAX_MONTHLY = 1e12
MAX_LATENCY_MS = 1e7
#: A number closer to 0 than this (but not 0) is refused: divided by, it would
#: overflow to infinity.
TINY = 1e-100
#: Longest text of fields that also appear inside headings, titles and the
#: print header (Excel allows 255 characters in a header); other text may
#: fill a cell: 32,767 UTF-16 code units, Excel's limit.
MAX_LABEL = 100
MAX_MODEL = 255
MAX_SOURCE = 2000
MAX_CELL_TEXT = 32767

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
    # Provider ids the Forecast sheet has rows for, in pricebook order; None:
    # every row (see default_forecast_rows).
    forecast_providers: list[str] | None = None
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
    # Where each id was given: ("provider" | "scenario", id) -> (file, line,
    # column, field), so that a later error about an id can point at it.
    origins: dict[tuple[str, str], tuple[str, int | None, int | None, str]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # Analyst overrides kept by ``build --keep-inputs``: (provider id, field)
    # -> the pricebook's value. The provider holds the analyst's value; the
    # workbook marks the cell and its metadata keeps the pricebook's value.
    overrides: dict[tuple[str, str], Any] = field(default_factory=dict)
    # Scenario assumptions carried by ``build --keep-inputs`` that differ from
    # the new pricebook: (scenario id, field) -> the pricebook's value. The
    # metadata keeps the pricebook's value, so they still count as the
    # analyst's edits (a plain rebuild will not overwrite them unnoticed).
    carried: dict[tuple[str, str], Any] = field(default_factory=dict)

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
        return f"'{one_line(value)}'"
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
    limit: float | None = None,
) -> Checker:
    """A finite number within bounds; ``above`` makes the minimum exclusive.

    ``limit`` is a sanity cap that the usual description leaves out (a rate
    is "a number >= 0"): a value above it is refused as a typo. So is a
    number closer to 0 than ``TINY`` but not 0, including one so small that
    it reads as 0 (``1e-400``). Messages show the number as it was typed.
    """

    def describe() -> str:
        parts = [what]
        if minimum is not None and maximum is not None and not above:
            parts.append(f"from {minimum:g} to {maximum:g}")
        else:
            if minimum is not None:
                parts.append(f"{'>' if above else '>='} {minimum:g}")
            if maximum is not None:
                bound = "and at most" if minimum is not None else "<="
                parts.append(f"{bound} {maximum:g}")
        return " ".join(parts)

    def check(value: Any, source: Source, path: PathKey) -> float | int:
        scalar = source.scalars.get(path)
        typed = scalar is not None and not scalar.quoted
        if isinstance(value, bool):
            hint = _bool_hint(scalar.text, value) if scalar and typed else ""
            raise source.error(path, f"expected {describe()}, got {_got(value)}{hint}")
        if isinstance(value, str):
            if typed:
                # YAML 1.1 reads 1e6 (no dot) as text; the user meant a number.
                try:
                    value = float(value)
                except ValueError:
                    pass
            if isinstance(value, str):
                hint = _quoted_hint(value) if scalar and scalar.quoted else ""
                raise source.error(
                    path,
                    f"expected {describe()}, got {_got(value)}{hint or _hint(value)}",
                )
        if not isinstance(value, (int, float)):
            raise source.error(path, f"expected {describe()}, got {_got(value)}")
        # As typed (1e7, not 10000000.0), else as read.
        shown = one_line(scalar.text) if scalar else _got(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise source.error(
                path, f"expected {describe()}, got {shown} (not a finite number)"
            )
        if typed and scalar is not None:
            notation = _notation(scalar.text, value)
            if notation:
                raise source.error(
                    path,
                    f"expected {describe()}, got '{one_line(scalar.text)}' "
                    f"({notation}); write the number in plain decimals",
                )
        try:
            number_value = float(value)
        except OverflowError:
            raise source.error(
                path, f"expected {describe()}, got a number too large to use"
            ) from None
        if whole and number_value != int(number_value):
            raise source.error(path, f"expected {describe()}, got {shown}")
        if minimum is not None and (value <= minimum if above else value < minimum):
            raise source.error(path, f"expected {describe()}, got {shown}")
        if maximum is not None and value > maximum:
            raise source.error(
                path,
                f"expected {describe()}, got {shown}{_scale_hint(value, maximum)}",
            )
        if limit is not None and value > limit:
            raise source.error(
                path,
                f"expected {describe()} and at most {limit:g}, got {shown}"
                f"{_scale_hint(value, limit)}",
            )
        underflow = number_value == 0 and scalar is not None and _nonzero(scalar.text)
        if underflow or 0 < abs(number_value) < TINY:
            raise source.error(
                path,
                f"expected {describe()}, got {shown}, too close to 0 "
                "to compute with (a typo?)",
            )
        if whole:
            return int(number_value)
        # As a cell holds it: XlsxWriter writes 16 significant digits, and
        # engines compute with those, so the model must too (2.9999900000000004
        # is 2.99999 in the workbook; the two can round to different ranks).
        return float(f"{number_value:.16g}")

    return check


def _nonzero(text: str) -> bool:
    """Does the number written as ``text`` have a non-zero digit before its
    exponent? (``1e-400`` does, and reads as 0.0 all the same.)"""
    digits = re.split("[eE]", text.strip().lstrip("+-"), maxsplit=1)[0]
    return DECIMAL_RE.fullmatch(text.strip()) is not None and any(
        ch in "123456789" for ch in digits
    )


#: Numbers YAML 1.1 reads in another base (compiled once: every number read
#: is checked).
_OCTAL_RE = re.compile(r"[-+]?0[0-7_]+")
_LEADING_ZERO_RE = re.compile(r"[-+]?0[0-9_]+")
_HEX_RE = re.compile(r"[-+]?0x[0-9a-fA-F_]+")
_BINARY_RE = re.compile(r"[-+]?0b[01_]+")


def _notation(text: str, value: float | int) -> str:
    """Why a number written as ``text`` is not plain decimal, or ""."""
    text = text.strip()
    if _OCTAL_RE.fullmatch(text) and isinstance(value, int):
        return f"a leading zero makes YAML 1.1 read it as the octal number {value}"
    if _LEADING_ZERO_RE.fullmatch(text):
        return (
            f"with a leading zero YAML 1.1 reads a number as octal; {text} is "
            "no octal number, so YAML reads it as text"
        )
    if _HEX_RE.fullmatch(text):
        return f"YAML reads it as the hexadecimal number {value}"
    if _BINARY_RE.fullmatch(text):
        return f"YAML reads it as the binary number {value}"
    if ":" in text:
        return f"YAML 1.1 reads it as the base-60 number {value}"
    if not DECIMAL_RE.fullmatch(text):
        return f"YAML reads it as {value}"
    return ""


def _bool_hint(text: str, value: bool) -> str:
    """Why a yes/no value came where a number belongs."""
    if text.lower() in ("true", "false"):
        return " (a yes/no value; write a number)"
    return f" (YAML 1.1 reads {text} as {_got(value)}; write a number)"


def _quoted_hint(text: str) -> str:
    """A hint for a number in quotes (``"0.09"``): the quotes make it text."""
    t = text.strip()
    if t and DECIMAL_RE.fullmatch(t) and any(ch.isdigit() for ch in t):
        return f" (the quotes make it text; write {t} without them)"
    return ""


def _hint(text: str) -> str:
    """A hint for text that was probably meant as a number."""
    t = text.strip()
    if t.startswith("$") or t.endswith("$"):
        return " (leave out the currency sign)"
    if t.endswith("%"):
        return " (write a share as a fraction: 75% is 0.75)"
    if re.fullmatch(r"[-+]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?", t):
        return " (leave out the thousands separators, or use _ as in 1_000_000)"
    if t.lower() in ("yes", "no", "on", "off", "true", "false"):
        return " (a number is expected, not a yes/no)"
    return ""


def _scale_hint(value: float, maximum: float) -> str:
    """A hint for a number above its maximum that was probably meant smaller."""
    if maximum == 1 and value <= 100:
        return " (a percentage? write a fraction: 99.9% is 0.999)"
    if maximum == MAX_RATE:
        return " (rates are $ per million tokens)"
    return ""


def optional(inner: Checker) -> Checker:
    """``inner``, or None (YAML ``null`` or ``~``) for unknown / not set."""

    def check(value: Any, source: Source, path: PathKey) -> Any:
        return None if value is None else inner(value, source, path)

    return check


def text(
    *,
    required: bool = True,
    max_length: int = MAX_CELL_TEXT,
    label: bool = False,
    free: bool = False,
) -> Checker:
    """Text as written; ``label: no`` is the text 'no', not false.

    At most ``max_length`` characters as Excel counts them (UTF-16 code units,
    so an emoji counts 2); no control characters but tab and newline, and
    nothing an XML file cannot hold. Text starting with ``=`` is fine: the
    writer stores it as text, never as a formula.

    A ``label`` is also the result of formulas (the ranking picks labels), and
    a formula's text result is stored in a simpler way than a cell's text:
    there a tab or an ``_x0041_``-style sequence does not survive every
    program (LibreOffice writes a tab back as another character, Excel reads
    ``_x0041_`` as an escaped "A"), so labels may not hold them.

    Only ``free`` text (notes) may hold the bidirectional embedding, override
    and isolate controls (U+202A to U+202E, U+2066 to U+2069): in a label,
    model or source, which are repeated in headings and next to figures, an
    override left open reverses what follows it, so that a heading or a link
    can read other than it is. Right-to-left script needs none of them.
    """

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
        bad = _BAD_TEXT_RE.search(out)
        if bad:
            char = bad.group()
            raise source.error(
                path,
                f"text holds the control character U+{ord(char):04X} at position "
                f"{bad.start() + 1}, which a cell cannot show; remove it "
                "(tabs and newlines are fine)",
            )
        if not free:
            bidi = _BIDI_CONTROL_RE.search(out)
            if bidi:
                char = bidi.group()
                raise source.error(
                    path,
                    f"text holds the bidirectional control U+{ord(char):04X} "
                    f"({unicodedata.name(char)}) at position {bidi.start() + 1}, "
                    "which can make a heading or link read other than it is; "
                    "remove it (right-to-left script needs none; a note may "
                    "hold it)",
                )
        if label:
            odd = _LABEL_ODD_RE.search(out)
            if odd:
                shown = "a tab" if odd.group() == "\t" else f"'{odd.group()}'"
                raise source.error(
                    path,
                    f"a label may not hold {shown} (formulas repeat labels, and "
                    "spreadsheets do not all keep it in a formula's result); "
                    f"write it another way (got '{one_line(out)}')",
                )
        length = excel_length(out)
        if length > max_length:
            limit = (
                "an Excel cell holds"
                if max_length == MAX_CELL_TEXT
                else "this field may have (it also appears in headings)"
            )
            raise source.error(
                path,
                f"text of {length:,} characters is longer than the "
                f"{max_length:,} {limit}; shorten it (got '{one_line(out)}')",
            )
        return out

    return check


#: Characters a cell cannot hold: C0 controls but tab and newline, C1
#: controls, lone surrogates, and the two non-characters XML forbids.
_BAD_TEXT_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


#: Bidirectional embeddings, overrides and isolates: LRE, RLE, PDF, LRO, RLO
#: and LRI, RLI, FSI, PDI. Only notes may hold them (see :func:`text`).
_BIDI_CONTROL_RE = re.compile("[\u202a-\u202e\u2066-\u2069]")


#: LibreOffice reads _x5_ to _x0041_ (one to four hex digits) in cell text as
#: an escaped character, so ids and labels may not hold such a sequence.
_ESCAPE_LIKE_RE = re.compile(r"_x[0-9A-Fa-f]{1,4}_")
_LABEL_ODD_RE = re.compile(r"\t|_x[0-9A-Fa-f]{1,4}_")


def excel_length(value: str) -> int:
    """Length of ``value`` as Excel counts it: UTF-16 code units."""
    if value.isascii():
        return len(value)
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


def identifier(value: Any, source: Source, path: PathKey) -> str:
    """An id: lower-case letters, digits and underscores, starting with a letter.

    ``id: no`` is the id 'no' (YAML 1.1 would read false). Defined names are
    built as ``<quantity>_<id>``, so an id that looks like a cell reference
    (``fy2024``) still makes a valid name.
    """
    scalar = source.scalars.get(path)
    if isinstance(value, bool) and scalar is not None and not scalar.quoted:
        value = scalar.text
    if isinstance(value, str) and ID_RE.fullmatch(value):
        odd = _ESCAPE_LIKE_RE.search(value)
        if odd:
            raise source.error(
                path,
                f"an id may not contain '{odd.group()}': LibreOffice reads it as "
                f"an escaped character; write it as '{odd.group()[:2]}_"
                f"{odd.group()[2:]}' (got '{value}')",
            )
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
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
    """A calendar date written YYYY-MM-DD; a time or time zone is refused.

    Only that form: not the other ones ISO 8601 and Python read (``20260221``,
    ``2026-W08-6``), nor the one-digit month or day YAML 1.1 takes
    (``2026-2-1``). Quoted or not.
    """
    scalar = source.scalars.get(path)
    written = scalar.text if scalar is not None else None
    if isinstance(value, dt.datetime):
        shown = one_line(written or value.isoformat())
        raise source.error(
            path, f"expected a date YYYY-MM-DD without a time, got '{shown}'"
        )
    if isinstance(value, dt.date) and (written is None or DATE_RE.fullmatch(written)):
        return value
    if isinstance(value, str) and DATE_RE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise source.error(
                path, f"expected a date YYYY-MM-DD, got '{value}' ({exc})"
            ) from None
    shown = f"'{one_line(written)}'" if written is not None else _got(value)
    raise source.error(path, f"expected a date YYYY-MM-DD, got {shown}")


#: The one way a date is written: four-digit year, two-digit month and day.
DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


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
RATE = number(0, limit=MAX_RATE)
MONTHLY = number(0, limit=MAX_MONTHLY)
LATENCY = number(0, limit=MAX_LATENCY_MS)

PROVIDER_SPEC: Spec = {
    "id": (identifier, True, None),
    "label": (text(max_length=MAX_LABEL, label=True), True, None),
    "model": (text(max_length=MAX_MODEL), True, None),
    "pricing": (choice(PRICING_KINDS), True, None),
    "input_rate": (RATE, True, None),
    "output_rate": (RATE, True, None),
    "fixed_monthly": (MONTHLY, False, 0.0),
    "egress_monthly": (MONTHLY, False, 0.0),
    "quality_tier": (optional(TIER), True, None),
    "sla": (optional(SHARE), False, None),
    "latency_ms": (optional(LATENCY), False, None),
    "source": (text(max_length=MAX_SOURCE), True, None),
    "checked": (date, True, None),
    "note": (text(required=False, free=True), False, ""),
}

SCENARIO_SPEC: Spec = {
    "id": (identifier, True, None),
    "label": (text(max_length=MAX_LABEL, label=True), True, None),
    "base_tokens": (number(0, 1e15, above=True), True, None),
    "input_share": (SHARE, True, None),
    "retry_rate": (SHARE, False, 0.0),
    "guardrail_rate": (SHARE, False, 0.0),
    "cache_hit_rate": (SHARE, False, 0.0),
    "min_quality_tier": (optional(TIER), False, None),
    "min_sla": (optional(SHARE), False, None),
    "max_latency_ms": (optional(LATENCY), False, None),
    "growth_rate": (number(-1, 10, above=True), False, 0.0),
}

PRICEBOOK_SPEC: Spec = {
    "name": (text(max_length=MAX_LABEL, label=True), True, None),
    "price_date": (date, True, None),
    "currency": (choice(["USD"]), False, "USD"),
    "source": (text(required=False, max_length=MAX_SOURCE), False, ""),
    "notes": (text(required=False, free=True), False, ""),
}


def forecast_rows(value: Any, source: Source, path: PathKey) -> Any:
    """``all``, a number of cheapest rows, or a list of provider ids."""
    if value == "all":
        return "all"
    if isinstance(value, list):
        return id_list(value, source, path)
    return number(1, 100_000, whole=True, what="'all', a list of ids or a number")(
        value, source, path
    )


FORECAST_SPEC: Spec = {
    "months": (number(1, 120, whole=True, what="a whole number of months"), True, None),
    # Month columns of the Forecast sheet, when more than ``months``: the
    # workbook's forecast can then be lengthened up to them (what
    # ``infercost assumptions`` writes for a shortened forecast).
    "columns": (
        number(1, 120, whole=True, what="a whole number of months"),
        False,
        None,
    ),
    "providers": (forecast_rows, False, None),
}

#: Books with more rows than this forecast only a selection of rows by default
#: (see :func:`default_forecast_rows`); a forecast of every row of a 4,000-row
#: price list over 60 months would be half a million cells nobody reads.
FORECAST_ALL_LIMIT = 250
FORECAST_CHEAPEST = 50

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
    out = []
    for i, item in enumerate(value):
        row = _record(spec, item, source, path + (i,))
        if spec is PROVIDER_SPEC and row["pricing"] == FIXED:
            if "fixed_monthly" not in item:
                # Left out, a fixed row would cost nothing and rank first.
                raise source.error(
                    path + (i,),
                    "missing field 'fixed_monthly' (a fixed row's price, in $ "
                    "a month; write 0 if it costs nothing)",
                )
        out.append(row)
    return out


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
        raise InputError(
            "the file is empty; expected a pricebook starting with 'format: 1'",
            file=source.file,
            line=1,
            field="format",
        )
    if not isinstance(data, dict):
        raise source.error((), f"expected a mapping of sections, got {_got(data)}")
    if "format" not in data:
        raise source.error(
            ("format",), "missing field 'format' (write 'format: 1' first)"
        )
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
    """Load one pricebook document from ``text`` (``name`` for messages).

    YAML, or JSON as the metadata sheet of a workbook holds it (see
    :func:`~generator.document.dump_json`): JSON is read by the json module,
    without positions, and checked like any pricebook.
    """
    if text.startswith("{"):
        try:
            data = json.loads(
                text,
                object_pairs_hook=_no_repeats(name),
                parse_constant=_no_constant(name),
            )
        except json.JSONDecodeError as not_json:
            # Perhaps YAML that starts with a flow mapping; if not, the JSON
            # error is the one to report (a cut-off metadata sheet, say).
            try:
                data, source = parse_yaml(text, name)
            except InputError:
                if not text.startswith('{"'):
                    raise  # YAML's own flow style: its message
                problem = not_json.msg
                if problem.endswith(" at"):  # "Unterminated string starting at"
                    problem = problem.removesuffix(" at") + " here"
                raise InputError(
                    f"invalid JSON: {problem}",
                    file=name,
                    line=not_json.lineno,
                    column=not_json.colno,
                ) from None
            return merge_parts([_read_data(data, source)])
        except RecursionError:
            raise InputError(
                "lists and mappings are nested too deeply", file=name
            ) from None
        except ValueError as exc:  # an integer of more than 4,300 digits
            raise InputError(f"cannot read a number: {exc}", file=name) from None
        return merge_parts([_read_data(data, Source(name))])
    data, source = parse_yaml(text, name)
    return merge_parts([_read_data(data, source)])


def _no_constant(name: str) -> Any:
    """A json ``parse_constant`` that refuses NaN and Infinity, which JSON
    does not have and Python's json reads."""

    def refuse(constant: str) -> Any:
        raise InputError(f"expected a finite number, got {constant}", file=name)

    return refuse


def _no_repeats(name: str) -> Any:
    """A json ``object_pairs_hook`` that refuses a field given twice."""

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise InputError(f"field '{key}' is given twice", file=name)
            out[key] = value
        return out

    return build


def merge_parts(parts: list[_Part]) -> Book:
    """Merge the files' sections into a Book and check the whole of it.

    Checks what no single file can show: a file given twice, ids given twice
    across files, break-even pairs and crossover rows naming rows that exist,
    gates that leave a row eligible, and ids that make distinct defined names.
    """
    _check_files_once(parts)
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
        listed = [part for part in parts if "providers" in part.sections]
        if listed:
            raise listed[-1].source.error(
                ("providers",), "expected at least one provider, got an empty list"
            )
        raise last.source.error(
            ("providers",),
            "missing section 'providers': no file given lists a provider",
        )
    if "scenarios" not in owner:
        raise last.source.error(
            ("scenarios",),
            "missing section 'scenarios': add one, or a scenarios file such as "
            "templates/reference-scenarios.yaml",
        )
    if "pricebook" not in owner:
        raise parts[0].source.error(
            ("pricebook",), "missing section 'pricebook' (name, price_date)"
        )

    seen: dict[str, tuple[_Part, int]] = {}
    origins: dict[tuple[str, str], tuple[str, int | None, int | None, str]] = {}
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
        origins[("provider", row["id"])] = _origin(part, ("providers", index, "id"))
        rows.append(Provider(**row))
        _warn_absurd(rows[-1], part, index, warnings)

    scen_part = owner["scenarios"]
    scenarios = [Scenario(**row) for row in scen_part.sections["scenarios"]]
    if not scenarios:
        raise scen_part.source.error(("scenarios",), "expected at least one scenario")
    scen_ids: dict[str, int] = {}
    for i, scenario in enumerate(scenarios):
        if scenario.id in scen_ids:
            first_line = scen_part.source.where(
                ("scenarios", scen_ids[scenario.id], "id")
            )[0]
            raise scen_part.source.error(
                ("scenarios", i, "id"),
                f"duplicate scenario id '{scenario.id}' (first in "
                f"{scen_part.file} line {first_line})",
            )
        scen_ids[scenario.id] = i
        origins[("scenario", scenario.id)] = _origin(scen_part, ("scenarios", i, "id"))

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
        origins=origins,
    )
    forecast_rule: Any = None
    if "forecast" in owner:
        forecast = owner["forecast"].sections["forecast"]
        book.forecast_months = forecast["months"]
        forecast_rule = forecast["providers"]
        columns = forecast["columns"]
        if columns is not None and columns < book.forecast_months:
            raise owner["forecast"].source.error(
                ("forecast", "columns"),
                f"expected at least the {book.forecast_months} months of the "
                f"forecast, got {columns}",
            )
        if columns is not None and columns != book.forecast_months:
            book.forecast_columns = columns
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
            if (fixed_id, token_id) in book.breakeven_pairs:
                first = book.breakeven_pairs.index((fixed_id, token_id))
                line = part.source.where(("breakeven_pairs", first))[0]
                raise part.source.error(
                    ("breakeven_pairs", i),
                    f"the pair [{fixed_id}, {token_id}] is listed twice (first on "
                    f"line {line}); keep one",
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
            if pid in cross["providers"][:i]:
                raise part.source.error(
                    ("crossover", "providers", i), f"'{pid}' is listed twice"
                )
        book.crossover_providers = list(cross["providers"] or [])
    if not book.crossover_providers:
        book.crossover_providers = default_crossover_rows(book)
    if isinstance(forecast_rule, list):
        part = owner["forecast"]
        for i, pid in enumerate(forecast_rule):
            if pid not in ids:
                raise part.source.error(
                    ("forecast", "providers", i),
                    f"no provider '{pid}'{_did_you_mean(pid, list(ids))}",
                )
        wanted = set(forecast_rule)
        book.forecast_providers = [p.id for p in rows if p.id in wanted]
    elif forecast_rule == "all":
        book.forecast_providers = None
    elif forecast_rule is not None or len(rows) > FORECAST_ALL_LIMIT:
        book.forecast_providers = default_forecast_rows(
            book, int(forecast_rule or FORECAST_CHEAPEST)
        )
    _check_gates(book, scen_part)
    check_defined_names(book)
    return book


def _check_files_once(parts: list[_Part]) -> None:
    """The same file may not be given twice (its providers would clash)."""
    first: dict[tuple[int, int], int] = {}
    for i, part in enumerate(parts):
        identity = part.source.identity
        if identity is None:
            continue
        if identity in first:
            j = first[identity]
            also = "" if parts[j].file == part.file else f", as {parts[j].file}"
            raise InputError(
                f"the file is given twice (files {j + 1} and {i + 1}{also}); "
                "give each file once",
                file=part.file,
            )
        first[identity] = i


def _origin(part: _Part, path: PathKey) -> tuple[str, int | None, int | None, str]:
    line, column = part.source.where(path)
    return part.file, line, column, field_name(path) or ""


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


GATES = (
    ("min_quality_tier", "quality_tier", max, "highest quality tier"),
    ("min_sla", "sla", max, "highest SLA"),
    ("max_latency_ms", "latency_ms", min, "lowest latency"),
)


def _check_gates(book: Book, part: _Part) -> None:
    """Every scenario must leave at least one provider eligible.

    The message points at the gate that alone excludes every row (else at the
    last gate set) and says what the best provider offers.
    """
    from .model import eligibility  # the gate rules live with the model

    for i, scenario in enumerate(book.scenarios):
        if any(eligibility(p, scenario)[0] for p in book.providers):
            continue
        set_gates = [g for g in GATES if getattr(scenario, g[0]) is not None]
        gate = set_gates[-1]
        for candidate in set_gates:
            alone = replace(
                scenario,
                **{g[0]: None for g in set_gates if g is not candidate},
            )
            if not any(eligibility(p, alone)[0] for p in book.providers):
                gate = candidate
                break
        name, attr, best, noun = gate
        known = [getattr(p, attr) for p in book.providers]
        known = [v for v in known if v is not None]
        offer = (
            f"the {noun} of any provider is {best(known):g}"
            if known
            else f"no provider states its {attr}"
        )
        together = "" if len(set_gates) == 1 else " with the other gates"
        raise part.source.error(
            ("scenarios", i, name),
            f"no provider passes the gates of scenario '{scenario.id}' (got "
            f"{name} {getattr(scenario, name):g}{together}; {offer}, and an "
            "unknown value fails a gate); relax the gate or add a provider",
        )


# --------------------------------------------------------------------------
# Defined names. Every input and headline output of the workbook has a name
# made of a quantity and ids (``input_rate_cheap``, ``cost_agent_cheap``); the
# layout makes them, and refuses a name made twice. Ids hold underscores, so
# two ids can make one name (scenarios ``standard`` and ``row_standard`` both
# make ``cheapest_row_standard``). :func:`check_defined_names` finds that at
# load time, so that ``show`` and ``diff`` refuse the books ``build`` refuses;
# tests/test_properties.py checks that these lists make the layout's names.

#: Names made once a workbook.
BOOK_NAMES = (
    "forecast_months",
    "crossover_min_tokens",
    "crossover_max_tokens",
    "tokens_per_million",
    "rank_decimals",
    "rank_shift",
    "master_check",
)
#: ``<quantity>_<provider id>``: the provider's inputs.
PROVIDER_NAMES = (
    "input_rate",
    "output_rate",
    "fixed_monthly",
    "egress_monthly",
    "quality_tier",
    "sla",
    "latency_ms",
)
#: ``<quantity>_<scenario id>``: the calculations at the top of each
#: scenario's block on the Costs sheet, in their order there.
SCENARIO_CALCULATIONS = (
    "overhead",
    "effective_tokens",
    "input_tokens",
    "output_tokens",
    "eligible_count",
    "cheapest_token_cost",
    "cheapest_token_row",
)
#: ``<quantity>_<scenario id>``, for every scenario: its inputs, its
#: calculations and its headline outputs.
SCENARIO_NAMES = (
    *(f.name for f in fields(Scenario) if f.name not in ("id", "label")),
    *SCENARIO_CALCULATIONS,
    "lowest_breakeven",
    "recommendation",
    "cheapest_row",
    "cheapest",
    "switch_share_above",
    "switch_share_below",
    "switch_provider_above",
)
#: ``<quantity>_<scenario id>`` for every scenario but the baseline.
LATER_SCENARIO_NAMES = ("multiplier_min", "multiplier_max")

#: Who makes a name: ("scenario" | "provider", id) for each id in it.
Owner = tuple[tuple[str, str], ...]


def defined_names(book: Book) -> dict[str, Owner]:
    """Every defined name the workbook of ``book`` has, with the ids in it.

    Builds the product of scenarios and providers (``cost_<s>_<p>``) and of
    scenarios and fixed and per-token rows (``breakeven_<s>_<f>_<t>``): for
    checking a large book use :func:`check_defined_names`, which does not.
    A name made twice is kept with its first owner.
    """
    out: dict[str, Owner] = {}
    for name, owner in _listed_names(book):
        out.setdefault(name, owner)
    for quantity, first, second in _name_products(book):
        for u, u_owner in first.items():
            for t, t_owner in second.items():
                out.setdefault(f"{quantity}_{u}_{t}", u_owner + t_owner)
    return out


def check_defined_names(book: Book) -> None:
    """Raise InputError when two ids of ``book`` would make the same defined name.

    The error points at the id given last of those that make it. The names
    of a scenario and every provider (``cost_<s>_<p>``), or of a scenario, a
    fixed and a per-token row, are compared without making each one: two of
    them can only meet where an id holds an underscore.
    """
    clash = _name_clash(book)
    if clash is None:
        return
    name, first, second = clash
    ids = [key for key in first + second if (key in first) != (key in second)]
    ids = [key for key in ids if key in book.origins] or [
        key for key in first + second if key in book.origins
    ]

    def given(key: tuple[str, str]) -> tuple[int, int, int]:
        file, line, column, _ = book.origins[key]
        index = book.files.index(file) if file in book.files else -1
        return index, line or 0, column or 0

    problem = (
        f"defined name '{name}' would be made by both {_owner_text(first)} and "
        f"{_owner_text(second)}; rename one of their ids"
    )
    if not ids:  # pragma: no cover - every owner of a name has an id
        raise InputError(problem)
    file, line, column, field_text = book.origins[max(ids, key=given)]
    raise InputError(problem, file=file, line=line, column=column, field=field_text)


def _owner_text(owner: Owner) -> str:
    scenarios = [i for kind, i in owner if kind == "scenario"]
    providers = [i for kind, i in owner if kind == "provider"]
    if not owner:
        return "the workbook itself"
    parts = [f"scenario '{scenarios[0]}'"] if scenarios else []
    if providers:
        noun = "provider" if len(providers) == 1 else "providers"
        rows = " and ".join(f"'{p}'" for p in providers)
        parts.append(f"{noun} {rows}")
    return " with ".join(parts)


def _listed_names(book: Book) -> list[tuple[str, Owner]]:
    """The names of the workbook, of one id, and of the break-even pairs."""
    out: list[tuple[str, Owner]] = [(name, ()) for name in BOOK_NAMES]
    for i, s in enumerate(book.scenarios):
        owner: Owner = (("scenario", s.id),)
        quantities = SCENARIO_NAMES + (LATER_SCENARIO_NAMES if i else ())
        out += [(f"{q}_{s.id}", owner) for q in quantities]
    for p in book.providers:
        owner = (("provider", p.id),)
        out += [(f"{q}_{p.id}", owner) for q in PROVIDER_NAMES]
    # The break-even points the crossover charts mark.
    for s in book.scenarios:
        for f, t in book.breakeven_pairs:
            owner = (("scenario", s.id), ("provider", f), ("provider", t))
            out.append((f"breakeven_cost_{s.id}_{f}_{t}", owner))
    return out


#: The names made for a product of ids, ``<quantity>_<first>_<second>``. No
#: quantity is another one followed by ``_``, so that two products never
#: make the same name (tests/test_properties.py checks it).
PRODUCT_NAMES = ("cost", "rank", "multiplier", "forecast_total", "breakeven")


def _name_products(
    book: Book,
) -> list[tuple[str, dict[str, Owner], dict[str, Owner]]]:
    """(quantity, first, second) for each of PRODUCT_NAMES: every ``first``
    with every ``second`` makes a name. The first part of ``breakeven`` is a
    scenario and a fixed row (``<s>_<f>``), its second a per-token row."""

    def scenarios(items: Sequence[Scenario]) -> dict[str, Owner]:
        return {s.id: (("scenario", s.id),) for s in items}

    def providers(items: Sequence[Provider]) -> dict[str, Owner]:
        return {p.id: (("provider", p.id),) for p in items}

    everyone = providers(book.providers)
    wanted = None if book.forecast_providers is None else set(book.forecast_providers)
    forecast = providers(
        [p for p in book.providers if wanted is None or p.id in wanted]
    )
    tokens = providers([p for p in book.providers if not p.is_fixed])
    scenario_fixed = {
        f"{s}_{f}": s_owner + f_owner
        for s, s_owner in scenarios(book.scenarios).items()
        for f, f_owner in providers([p for p in book.providers if p.is_fixed]).items()
    }
    return list(
        zip(
            PRODUCT_NAMES,
            (
                scenarios(book.scenarios),
                scenarios(book.scenarios),
                scenarios(book.scenarios[1:]),
                scenarios(book.scenarios),
                scenario_fixed,
            ),
            (everyone, everyone, everyone, forecast, tokens),
            strict=True,
        )
    )


def _name_clash(book: Book) -> tuple[str, Owner, Owner] | None:
    """The first defined name two owners would make, with both, or None."""
    claimed: dict[str, Owner] = {}
    for name, owner in _listed_names(book):
        if name in claimed and claimed[name] != owner:
            return name, claimed[name], owner
        claimed[name] = owner
    products = _name_products(book)
    # The first part of breakeven is made of two ids: "<s>_<f>" may be made
    # twice, and then so is every breakeven_<s>_<f>_<t>.
    s_ids = {s.id: (("scenario", s.id),) for s in book.scenarios}
    fixed = {p.id: (("provider", p.id),) for p in book.providers if p.is_fixed}
    twice = _joined_twice(s_ids, fixed)
    tokens = products[-1][2]
    if twice is not None and tokens:
        text, first, second = twice
        t, t_owner = next(iter(tokens.items()))
        return f"breakeven_{text}_{t}", first + t_owner, second + t_owner
    for quantity, first_part, second_part in products:
        twice = _joined_twice(first_part, second_part)
        if twice is not None:
            text, first, second = twice
            return f"{quantity}_{text}", first, second
    # A listed name that a product makes too (multiplier_min_<s> against
    # multiplier_<s>_<p> of a scenario 'min').
    by_quantity = {quantity: (u, t) for quantity, u, t in products}
    starts = tuple(f"{quantity}_" for quantity in by_quantity)
    for name, owner in claimed.items():
        if not name.startswith(starts):
            continue
        for cut in _underscores(name):
            product = by_quantity.get(name[:cut])
            if product is None:
                continue
            rest = name[cut + 1 :]
            for at in _underscores(rest):
                u, t = rest[:at], rest[at + 1 :]
                if u in product[0] and t in product[1]:
                    return name, owner, product[0][u] + product[1][t]
    return None


def _joined_twice(
    first: dict[str, Owner], second: dict[str, Owner]
) -> tuple[str, Owner, Owner] | None:
    """Two pairs (u, t) of ``first`` and ``second`` whose ``u_t`` is the same
    text, as (text, owner of one, owner of the other); None if there are none.

    ``u_t`` equals ``v_w`` for a longer ``v`` only when ``v`` is ``u_X`` and
    ``t`` is ``X_w``: each is found by cutting the ids at their underscores.
    """
    # X -> (t, w) with t = X_w, both of second.
    heads: dict[str, tuple[str, str]] = {}
    for t in second:
        for at in _underscores(t):
            if t[at + 1 :] in second:
                heads.setdefault(t[:at], (t, t[at + 1 :]))
    if not heads:
        return None
    for v in first:
        for at in _underscores(v):
            u, x = v[:at], v[at + 1 :]
            if u in first and x in heads:
                t, w = heads[x]
                return f"{u}_{t}", first[u] + second[t], first[v] + second[w]
    return None


def _underscores(text: str) -> list[int]:
    """Where ``text`` has an underscore."""
    out = []
    at = text.find("_")
    while at >= 0:
        out.append(at)
        at = text.find("_", at + 1)
    return out


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


def default_forecast_rows(book: Book, cheapest: int) -> list[str] | None:
    """The rows a forecast of a large book shows, in pricebook order.

    The ``cheapest`` cheapest eligible rows of each scenario at its volume,
    the crossover rows and the rows of the break-even pairs; None (every row)
    when that is all of them anyway.
    """
    from .model import eligibility, monthly_cost, order

    wanted = set(book.crossover_providers)
    for pair in book.breakeven_pairs:
        wanted.update(pair)
    for s in book.scenarios:
        costs = [monthly_cost(p, s, s.base_tokens) for p in book.providers]
        ok = [eligibility(p, s)[0] for p in book.providers]
        ranked = [i for i in order(costs, ok) if ok[i]][:cheapest]
        wanted.update(book.providers[i].id for i in ranked)
    if len(wanted) >= len(book.providers):
        return None
    return [p.id for p in book.providers if p.id in wanted]


def provider_fields() -> list[str]:
    return [f.name for f in fields(Provider)]
