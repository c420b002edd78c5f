"""Import LiteLLM's public model price map as a pricebook (format 1).

LiteLLM publishes ``model_prices_and_context_window.json``: one entry per model
key (``"gpt-4o-mini"``, ``"bedrock/us.anthropic.claude-..."``) with prices in US
dollars *per token*. :func:`import_litellm` turns the entries that carry a
per-token input and output price into ``providers`` rows in dollars per million
tokens; :func:`dump_pricebook_yaml` writes the document as YAML that
:func:`generator.pricebook.load_book` reads; :func:`apply_mapping` fills in what
LiteLLM does not know (quality tier, SLA, latency) from a small user file.

Rules, in the order they are applied to each entry of the file:

1. ``sample_spec`` (LiteLLM's description of the fields) is not an entry and is
   neither imported nor counted.
2. An entry with ``alias_of`` is skipped: the entry it names is imported under
   its own key, and one price must not appear twice.
3. An entry that is not a mapping with a ``litellm_provider`` is skipped (the
   file holds routing rules next to the models).
4. Only text-generation modes are imported: ``chat``, ``completion`` and
   ``responses`` (:data:`TEXT_MODES`). Embeddings, images, audio, realtime,
   rerank and the rest are skipped, as is an entry without ``mode``.
5. Both ``input_cost_per_token`` and ``output_cost_per_token`` must be present.
   When they are not, the entry is skipped: as "price kinds not expressible
   yet (...)" naming the price kinds it has instead (``tiered_pricing``,
   ``input_cost_per_second``, ...), else as "no input/output token price".
6. Both prices must be numbers >= 0 (else skipped, with a warning naming the
   key), and not both zero: LiteLLM writes 0 for local runtimes (Ollama) and
   free previews, which are not list prices to compare.

Every other price kind of an imported entry (cache reads and writes, batch,
priority and flex tiers, prices above N tokens, per-request and per-query fees,
uplift multipliers) is *not* imported: the row's ``note`` names them and
:attr:`ImportResult.ignored_price_kinds` counts them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import fnmatch
import hashlib
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError
from .yamlsource import Source, load_yaml

log = logging.getLogger(__name__)

#: LiteLLM modes that price text generation per input and output token.
TEXT_MODES = ("chat", "completion", "responses")
INPUT_KEY = "input_cost_per_token"
OUTPUT_KEY = "output_cost_per_token"
#: A key naming a price kind: ``*cost*``, ``*pricing``, ``*uplift_multiplier*``.
PRICE_KEY_RE = re.compile(r"cost|pricing$|uplift_multiplier")
SPEC_KEY = "sample_spec"
ID_MAX = 40
ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MILLION = Decimal(1_000_000)

#: The documented key order of a pricebook document and of its sections.
DOCUMENT_KEYS = ("format", "pricebook", "providers")
PRICEBOOK_KEYS = ("name", "price_date", "currency", "source", "notes")
PROVIDER_KEYS = (
    "id",
    "label",
    "model",
    "pricing",
    "input_rate",
    "output_rate",
    "fixed_monthly",
    "egress_monthly",
    "quality_tier",
    "sla",
    "latency_ms",
    "source",
    "checked",
    "note",
)
#: The fields a mapping rule may set, besides ``match``.
MAPPING_FIELDS = ("quality_tier", "sla", "latency_ms")

SKIP_ALIAS = "alias of another entry (alias_of)"
SKIP_NOT_MODEL = "not a model entry (no litellm_provider)"
SKIP_NO_PRICE = "no input/output token price"
SKIP_INVALID = "invalid input/output token price"
SKIP_ZERO = "zero input and output price (local, free or unpriced)"


@dataclasses.dataclass
class ImportResult:
    """What :func:`import_litellm` made of the file.

    ``document`` is a pricebook document (format 1) ready for
    :func:`dump_pricebook_yaml`. ``imported`` counts its rows; ``skipped``
    counts the other *selected* entries by reason (entries left out by the
    ``providers``/``models`` filters are in neither), so with no filters
    ``imported + sum(skipped.values())`` is the number of entries in the file.
    ``ignored_price_kinds`` counts, over the imported rows, the LiteLLM price
    keys that were not imported. ``warnings`` are one-line messages.
    """

    document: dict[str, Any]
    imported: int
    skipped: dict[str, int]
    warnings: list[str]
    ignored_price_kinds: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class _Entry:
    """One file entry after classification: a row to import or a skip reason."""

    key: str
    provider: str
    row: dict[str, Any] | None = None
    reason: str | None = None
    ignored: tuple[str, ...] = ()


# --------------------------------------------------------------------------
# Import


def import_litellm(
    path: str | os.PathLike[str],
    *,
    providers: list[str] | None = None,
    models: list[str] | None = None,
    price_date: str | None = None,
) -> ImportResult:
    """Read LiteLLM's price map at ``path`` and build a pricebook document.

    ``providers`` keeps entries whose ``litellm_provider`` equals one of them
    (case-insensitive); ``models`` keeps entries whose key matches one of the
    shell-style globs (``fnmatch``, case-insensitive: ``"gpt-4o*"``). Both
    given: an entry must pass both. Rows keep the order of the file.

    ``price_date`` (YYYY-MM-DD, default today) becomes ``pricebook.price_date``
    and every row's ``checked``: the file's own modification time says when it
    was copied, not when LiteLLM read the prices, so the caller must say.

    Rates are per-token prices times 1,000,000, computed in decimal on the
    number exactly as the JSON file writes it and converted to float once:
    ``1.5e-07`` gives ``0.15``, not ``0.15000000000000002``. (Rounding to
    significant digits would also hide the float noise, but could change a
    price with many digits; the decimal product is exact.)

    Ids come from the key: lower-cased, every run of other characters made
    one ``_``, ``m_`` in front when it would not start with a letter. A slug
    over 40 characters, or one an earlier entry of the file already took, is
    shortened as needed and ends in ``_`` and 6 hex digits of a hash of the
    key (see :func:`_hashed`). Ids are assigned over every importable entry of
    the file, so an entry's id does not change with the filters.

    Raises :class:`~generator.errors.InputError` when the file cannot be read
    or is not a JSON object, or ``price_date`` is not a date YYYY-MM-DD.
    """
    price_date = _check_price_date(price_date)
    name = str(path)
    try:
        if Path(path).is_dir():
            raise InputError("is a directory; give the price map's file", file=name)
        if Path(path).exists() and not Path(path).is_file():
            raise InputError(
                "not a regular file (a named pipe, device or socket); give the "
                "price map's file",
                file=name,
            )
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("no such file", file=name) from None
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=name) from None
    try:
        # parse_float=Decimal keeps each price exactly as written (see above).
        data = json.loads(raw, parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        column = getattr(exc, "colno", None)
        problem = getattr(exc, "msg", str(exc))
        raise InputError(
            f"not a JSON price map: {problem}", file=name, line=line, column=column
        ) from None
    if not isinstance(data, dict):
        raise InputError(
            "expected a JSON object of model entries (LiteLLM's "
            f"model_prices_and_context_window.json), got {type(data).__name__}",
            file=name,
        )

    filename = Path(path).name
    sha256 = hashlib.sha256(raw).hexdigest()
    fallback_source = f"LiteLLM model price map {filename} (sha256 {sha256[:16]})"
    warnings: list[str] = []

    entries = [
        _classify(key, value, fallback_source, price_date, warnings)
        for key, value in data.items()
        if key != SPEC_KEY
    ]
    _assign_ids(entries)

    wanted_providers = {p.strip().lower() for p in providers or []}
    globs = list(models or [])
    _warn_unmatched_filters(entries, wanted_providers, globs, warnings)

    rows: list[dict[str, Any]] = []
    skipped: Counter[str] = Counter()
    ignored: Counter[str] = Counter()
    with_ignored = 0
    for entry in entries:
        if wanted_providers and entry.provider.lower() not in wanted_providers:
            continue
        if globs and not _matches(entry.key, globs):
            continue
        if entry.row is None:
            skipped[entry.reason or SKIP_NO_PRICE] += 1
            continue
        rows.append(entry.row)
        ignored.update(entry.ignored)
        with_ignored += bool(entry.ignored)

    if not rows:
        warnings.append("no entry was imported: check the providers and models")
    elif ignored:
        common = ", ".join(f"{k} ({n:,})" for k, n in ignored.most_common(3))
        warnings.append(
            f"{with_ignored:,} of {len(rows):,} rows have LiteLLM price kinds "
            f"that were not imported, most often {common}; each row's note "
            "names them"
        )

    selected = len(rows) + sum(skipped.values())
    document: dict[str, Any] = {
        "format": 1,
        "pricebook": {
            "name": f"LiteLLM model prices, {price_date}",
            "price_date": price_date,
            "currency": "USD",
            "source": f"{filename} (sha256 {sha256})",
            "notes": _pricebook_notes(
                providers, models, len(rows), selected, len(entries)
            ),
        },
        "providers": rows,
    }
    return ImportResult(
        document=document,
        imported=len(rows),
        skipped=dict(sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0]))),
        warnings=warnings,
        ignored_price_kinds=dict(
            sorted(ignored.items(), key=lambda kv: (-kv[1], kv[0]))
        ),
    )


def _check_price_date(price_date: str | None) -> str:
    if price_date is None:
        return dt.date.today().isoformat()
    if isinstance(price_date, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", price_date):
        try:
            return dt.date.fromisoformat(price_date).isoformat()
        except ValueError:
            pass
    raise InputError(
        f"expected a date YYYY-MM-DD, got {price_date!r}", field="price_date"
    )


def _classify(
    key: str,
    value: Any,
    fallback_source: str,
    price_date: str,
    warnings: list[str],
) -> _Entry:
    """Apply rules 2-6 of the module docstring to one entry."""
    if not isinstance(value, dict):
        return _Entry(key, "", reason=SKIP_NOT_MODEL)
    provider = value.get("litellm_provider")
    provider = provider if isinstance(provider, str) else ""
    if "alias_of" in value:
        return _Entry(key, provider, reason=SKIP_ALIAS)
    if not provider:
        return _Entry(key, provider, reason=SKIP_NOT_MODEL)
    mode = value.get("mode")
    if mode not in TEXT_MODES:
        shown = " missing" if mode is None else f"={mode}"
        return _Entry(key, provider, reason=f"not a chat model (mode{shown})")

    kinds = _price_kinds(value)
    if INPUT_KEY not in value or OUTPUT_KEY not in value:
        if kinds:
            reason = f"price kinds not expressible yet ({', '.join(kinds)})"
            return _Entry(key, provider, reason=reason)
        return _Entry(key, provider, reason=SKIP_NO_PRICE)
    for price_key in (INPUT_KEY, OUTPUT_KEY):
        if not _is_price(value[price_key]):
            warnings.append(
                f"{key}: {price_key} is not a number >= 0 (got "
                f"{_as_written(value[price_key])}); entry skipped"
            )
            return _Entry(key, provider, reason=SKIP_INVALID)
    if value[INPUT_KEY] == 0 and value[OUTPUT_KEY] == 0:
        return _Entry(key, provider, reason=SKIP_ZERO)

    source = value.get("source")
    note = [f"litellm_provider: {provider}", f"mode: {mode}"]
    if kinds:
        note.append(f"not imported: {', '.join(kinds)}")
    if isinstance(source, str) and re.fullmatch(r"https?://\S+", source.strip()):
        source = source.strip()
    else:
        if isinstance(source, str) and source.strip():
            note.append(f"LiteLLM source says: {' '.join(source.split())}")
        source = fallback_source
    row: dict[str, Any] = {
        "id": "",  # set by _assign_ids, over the whole file
        "label": key,
        "model": key,
        "pricing": "per_token",
        "input_rate": per_million(value[INPUT_KEY]),
        "output_rate": per_million(value[OUTPUT_KEY]),
        "fixed_monthly": 0,
        "egress_monthly": 0,
        "quality_tier": None,
        "sla": None,
        "latency_ms": None,
        "source": source,
        "checked": price_date,
        "note": "; ".join(note),
    }
    return _Entry(key, provider, row=row, ignored=kinds)


def _as_written(value: Any) -> str:
    """A JSON value as the file writes it (a number without Decimal(...))."""
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, default=str)


def per_million(price: Decimal | int | float) -> float:
    """Dollars per token -> dollars per million tokens, without float noise.

    The product is exact in decimal; the float returned is the one nearest to
    it (``Decimal("1.5e-07")`` gives ``0.15``). A float argument is taken as
    its shortest repr, which is what a JSON writer would have written.
    """
    exact = Decimal(repr(price)) if isinstance(price, float) else Decimal(price)
    return float(exact * MILLION)


def _is_price(value: Any) -> bool:
    """A number >= 0: an int or a finite Decimal (JSON's NaN parses as float)."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return False
    return value >= 0 if isinstance(value, int) else value.is_finite() and value >= 0


def _price_kinds(value: Mapping[str, Any]) -> tuple[str, ...]:
    """The price keys of an entry besides the base two, with a non-zero value."""
    return tuple(
        sorted(
            key
            for key, item in value.items()
            if key not in (INPUT_KEY, OUTPUT_KEY)
            and PRICE_KEY_RE.search(key)
            and _non_zero(item)
        )
    )


def _non_zero(item: Any) -> bool:
    if isinstance(item, dict):
        return any(_non_zero(v) for v in item.values())
    if isinstance(item, list):
        return any(_non_zero(v) for v in item)
    if isinstance(item, str):
        return bool(item.strip())
    return item is not None and item != 0


def _assign_ids(entries: list[_Entry]) -> None:
    """Give every importable entry a unique id, in file order (see above)."""
    used: set[str] = set()
    for entry in entries:
        if entry.row is None:
            continue
        slug = _slug(entry.key)
        if len(slug) <= ID_MAX and slug not in used:
            new_id = slug
        else:
            digits = 6
            new_id = _hashed(slug, entry.key, digits)
            while new_id in used:  # a second clash: longer hash, still stable
                digits += 2
                new_id = _hashed(slug, entry.key, digits)
        used.add(new_id)
        entry.row["id"] = new_id


def _slug(key: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")
    # '_x5_' would read as an escaped character in LibreOffice: '_x_5_'.
    slug = re.sub(r"_x(?=[0-9a-f]{1,4}_)", "_x_", slug)
    if not slug[:1].isalpha() or not slug[:1].isascii():
        slug = f"m_{slug}".rstrip("_")
    return slug


def _hashed(slug: str, key: str, digits: int) -> str:
    """``slug`` cut to fit, then ``_`` and ``digits`` hex digits of sha1(key).

    To fit, a key of three or more ``/`` parts first loses its middle parts
    (``fireworks_ai/accounts/fireworks/models/x`` -> ``fireworks_ai_x``); then
    the longest word loses its last letter, again and again (a word keeps at
    least 3), so every word keeps its start: ``anthropic.claude-3-5-sonnet-
    20240620-v1:0`` becomes ``anthr_claud_3_5_sonne_202406_v1_0_<hash>``.
    """
    suffix = hashlib.sha1(key.encode("utf-8")).hexdigest()[:digits]
    room = ID_MAX - len(suffix) - 1
    parts = key.split("/")
    if len(slug) > room and len(parts) > 2:
        slug = _slug(f"{parts[0]}/{parts[-1]}")
    words = slug.split("_")
    while len("_".join(words)) > room:
        longest = max(range(len(words)), key=lambda i: len(words[i]))
        if len(words[longest]) <= 3:
            break
        words[longest] = words[longest][:-1]
    return f"{'_'.join(words)[:room].rstrip('_')}_{suffix}"


def _matches(key: str, globs: Iterable[str]) -> bool:
    """Whether ``key`` matches one of the shell-style ``globs``, ignoring case."""
    lowered = key.lower()
    return any(fnmatch.fnmatchcase(lowered, glob.lower()) for glob in globs)


def _warn_unmatched_filters(
    entries: list[_Entry],
    wanted_providers: set[str],
    globs: list[str],
    warnings: list[str],
) -> None:
    known = sorted({e.provider.lower() for e in entries if e.provider})
    for wanted in sorted(wanted_providers):
        if wanted not in known:
            close = difflib.get_close_matches(wanted, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            warnings.append(f"provider '{wanted}' matches no entry{hint}")
    in_scope = [
        e.key
        for e in entries
        if not wanted_providers or e.provider.lower() in wanted_providers
    ]
    for glob in globs if in_scope else []:
        if not any(_matches(key, [glob]) for key in in_scope):
            warnings.append(f"model glob '{glob}' matches no entry")


def _pricebook_notes(
    providers: list[str] | None,
    models: list[str] | None,
    imported: int,
    selected: int,
    total: int,
) -> str:
    chosen = ""
    if providers or models:
        parts = []
        if providers:
            parts.append(f"providers {', '.join(providers)}")
        if models:
            parts.append(f"models {', '.join(models)}")
        chosen = f" Selected {' and '.join(parts)}: {selected:,} entries."
    return (
        "Imported by infercost from LiteLLM's public model price map: per-token "
        "list prices of text-generation models, converted to $ per 1M tokens. "
        f"{imported:,} of {total:,} entries imported.{chosen} Only the base "
        "input and output prices are imported; cache, batch, priority/flex, "
        "long-context and per-request prices are named in each row's note. "
        "quality_tier, sla and latency_ms are unknown (null): LiteLLM does not "
        "publish them; set them with a mapping file."
    )


# --------------------------------------------------------------------------
# Mapping: quality tier, SLA and latency by model glob


def load_mapping(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a mapping file (see :func:`apply_mapping` for its shape).

    Raises :class:`~generator.errors.InputError` pointing at the line of the
    first field that breaks a rule.
    """
    data, source = load_yaml(Path(path), display=str(path))
    return check_mapping(data, source)


def check_mapping(mapping: Any, source: Source | None = None) -> dict[str, Any]:
    """Check a mapping document and return it with every field present.

    The shape is ``{"models": [{"match": glob, "quality_tier": ..., "sla": ...,
    "latency_ms": ...}, ...]}``; each rule needs ``match`` and at least one of
    the other fields. ``quality_tier`` is a whole number 1..5, ``sla`` a number
    0..1, ``latency_ms`` a number >= 0; each may be null (unknown). A rule
    leaves out a field it does not set.
    """
    source = source or Source("mapping")

    def fail(path: tuple[Any, ...], problem: str) -> InputError:
        return source.error(path, problem)

    if not isinstance(mapping, dict):
        raise fail((), "expected a mapping with a 'models' list of rules")
    for key in mapping:
        if key != "models":
            raise fail((key,), f"unknown field{_did_you_mean(str(key), ['models'])}")
    rules = mapping.get("models")
    if not isinstance(rules, list):
        raise fail(("models",), "expected a list of rules (match: glob, ...)")
    out: list[dict[str, Any]] = []
    for i, rule in enumerate(rules):
        path: tuple[Any, ...] = ("models", i)
        if not isinstance(rule, dict):
            raise fail(path, "expected a rule: match, quality_tier, sla, latency_ms")
        for key in rule:
            if key != "match" and key not in MAPPING_FIELDS:
                hint = _did_you_mean(str(key), ["match", *MAPPING_FIELDS])
                raise fail(path + (key,), f"unknown field{hint}")
        glob = rule.get("match")
        if not isinstance(glob, str) or not glob.strip():
            raise fail(path + ("match",), "expected a model glob such as 'gpt-4o*'")
        if not any(key in rule for key in MAPPING_FIELDS):
            raise fail(path, "expected at least one of quality_tier, sla, latency_ms")
        clean: dict[str, Any] = {"match": glob}
        for key in MAPPING_FIELDS:
            if key in rule:
                clean[key] = _mapping_value(key, rule[key], fail, path + (key,))
        out.append(clean)
    return {"models": out}


def _mapping_value(key: str, value: Any, fail: Any, path: tuple[Any, ...]) -> Any:
    if value is None:
        return None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if key == "quality_tier":
        if not number or value != int(value) or not 1 <= value <= 5:
            raise fail(path, f"expected a whole-number tier from 1 to 5, got {value!r}")
        return int(value)
    if key == "sla":
        if not number or not 0 <= value <= 1:
            raise fail(path, f"expected a share from 0 to 1, got {value!r}")
        return value
    if not number or not value >= 0 or value == float("inf"):
        raise fail(path, f"expected a number of milliseconds >= 0, got {value!r}")
    return value


def apply_mapping(
    document: dict[str, Any],
    mapping: dict[str, Any],
    warnings: list[str] | None = None,
) -> dict[str, Any]:
    """Return a copy of ``document`` with tiers, SLA and latency from ``mapping``.

    For each provider row, the first rule whose ``match`` glob matches the row's
    ``model`` (``fnmatch``, case-insensitive) sets the fields it names; later
    rules are not consulted for that row, and a row no rule matches keeps its
    values. ``mapping`` is checked first (:func:`check_mapping`); a rule that
    matches no row is a one-line message added to ``warnings`` (logged as a
    warning when no list is given). ``document`` is not changed.
    """
    rules = check_mapping(mapping)["models"]
    used = [0] * len(rules)
    rows: list[dict[str, Any]] = []
    for row in document.get("providers", []):
        row = dict(row)
        model = str(row.get("model", ""))
        for i, rule in enumerate(rules):
            if _matches(model, [rule["match"]]):
                used[i] += 1
                row.update({k: v for k, v in rule.items() if k != "match"})
                break
        rows.append(row)
    for rule, count in zip(rules, used, strict=True):
        if not count:
            message = f"mapping rule match '{rule['match']}' matches no row"
            if warnings is None:
                log.warning("warning: %s", message)
            else:
                warnings.append(message)
    out = dict(document)
    out["providers"] = rows
    if "pricebook" in document and any(used):
        pricebook = dict(document["pricebook"])
        pricebook["notes"] = (
            f"{pricebook.get('notes', '')} A mapping set quality_tier, sla or "
            f"latency_ms on {sum(used):,} rows."
        ).strip()
        out["pricebook"] = pricebook
    return out


def _did_you_mean(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --------------------------------------------------------------------------
# YAML output

_BaseDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

#: Text YAML 1.2 (or a YAML 1.1 reader other than PyYAML) could read as a
#: number or a boolean although PyYAML reads it as text: quote it too.
_AMBIGUOUS = re.compile(
    r"[-+]?(\.inf|\.nan|0o[0-7]+|0x[0-9a-f]+|[0-9][0-9_,:.e+-]*)"
    r"|y|n|yes|no|on|off|true|false|null|~|\d{4}-\d\d?-\d\d?([ tT].*)?",
    re.IGNORECASE,
)


class _Dumper(_BaseDumper):  # type: ignore[misc,valid-type]
    """Safe dumper (libyaml when present) that quotes number-like text."""


def _represent_str(dumper: Any, text: str) -> yaml.ScalarNode:
    style = "'" if _AMBIGUOUS.fullmatch(text) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)


def _ordered(record: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """``record`` with ``keys`` first, in that order, then any other keys."""
    out = {key: record[key] for key in keys if key in record}
    out.update({k: v for k, v in record.items() if k not in out})
    return out


def _dump(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=10_000,
    )


def dump_pricebook_yaml(document: dict[str, Any]) -> str:
    """The pricebook ``document`` as YAML text, in the documented key order.

    A comment header says the file was generated and from what (the
    ``pricebook`` section's source). Sections are separated by a blank line,
    provider rows too. Text that a YAML reader could take for a number, a
    boolean, null or a date (``'2026-02-21'``, ``'1e3'``, ``'no'``) is quoted,
    so ``yaml.safe_load`` of the result gives ``document`` back unchanged.
    """
    document = _ordered(document, DOCUMENT_KEYS)
    pricebook = document.get("pricebook") or {}

    def one_line(value: Any) -> str:  # a value in a comment cannot break lines
        return " ".join(str(value).split())

    origin = one_line(pricebook.get("source") or "an unnamed source")
    when = one_line(pricebook.get("price_date") or "an unknown date")
    lines = [
        "# Generated by infercost (generator/litellm.py) from LiteLLM's model "
        "price map:",
        f"#   {origin}",
        f"# Prices as read on {when}. Re-import rather than edit;",
        "# set quality_tier, sla and latency_ms with a mapping file.",
        "",
    ]
    blocks = ["\n".join(lines)]
    for key, value in document.items():
        if key == "pricebook" and isinstance(value, dict):
            value = _ordered(value, PRICEBOOK_KEYS)
        if key == "providers" and isinstance(value, list) and value:
            rows = [_ordered(row, PROVIDER_KEYS) for row in value]
            blocks.append(f"{key}:\n{_indent_rows(_dump(rows))}")
        else:
            blocks.append(_dump({key: value}))
    return "\n".join(blocks)


def _indent_rows(text: str) -> str:
    """Indent a dumped list of mappings by two spaces, a blank line between rows.

    Only a list item starts with ``- `` in column 0: every value in a row is a
    scalar, and a scalar's continuation lines are indented.
    """
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith("- ") and out:
            out.append("")
        out.append(f"  {line}" if line else line)
    return "\n".join(out) + "\n"
