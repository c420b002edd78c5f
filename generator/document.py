"""A Book as a pricebook document: the YAML format of ``docs/pricebook-format.md``.

Used to store the book a workbook was built from inside the workbook (so that
``verify`` knows its structure), to write a workbook's edited inputs back as
YAML (``infercost assumptions``), and to read it again with the same loader
and the same validation as any pricebook file.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from .errors import OutputError
from .pricebook import FORMAT_VERSION, Book

#: libyaml's safe dumper when PyYAML has it: the same text, ten times faster
#: (12 s for the 3,445 rows of a LiteLLM import in pure Python).
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def book_to_document(book: Book) -> dict[str, Any]:
    """The pricebook document that loads back as ``book``."""
    pricebook: dict[str, Any] = {
        "name": book.name,
        "price_date": book.price_date,
        "currency": book.currency,
    }
    if book.source:
        pricebook["source"] = book.source
    if book.notes:
        pricebook["notes"] = book.notes
    providers = []
    for p in book.providers:
        row: dict[str, Any] = {
            "id": p.id,
            "label": p.label,
            "model": p.model,
            "pricing": p.pricing,
            "input_rate": p.input_rate,
            "output_rate": p.output_rate,
            "fixed_monthly": p.fixed_monthly,
            "egress_monthly": p.egress_monthly,
            "quality_tier": p.quality_tier,
            "sla": p.sla,
            "latency_ms": p.latency_ms,
            "source": p.source,
            "checked": p.checked,
        }
        if p.note:
            row["note"] = p.note
        providers.append(row)
    doc: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "pricebook": pricebook,
        "providers": providers,
    }
    if book.breakeven_pairs:
        doc["breakeven_pairs"] = [list(pair) for pair in book.breakeven_pairs]
    doc["scenarios"] = [
        {
            "id": s.id,
            "label": s.label,
            "base_tokens": s.base_tokens,
            "input_share": s.input_share,
            "retry_rate": s.retry_rate,
            "guardrail_rate": s.guardrail_rate,
            "cache_hit_rate": s.cache_hit_rate,
            "min_quality_tier": s.min_quality_tier,
            "min_sla": s.min_sla,
            "max_latency_ms": s.max_latency_ms,
            "growth_rate": s.growth_rate,
        }
        for s in book.scenarios
    ]
    doc["forecast"] = {"months": book.forecast_months}
    if book.forecast_providers is not None:
        doc["forecast"]["providers"] = list(book.forecast_providers)
    doc["sensitivity"] = {
        "input_shares": list(book.input_shares),
        "volume_factors": list(book.volume_factors),
    }
    doc["crossover"] = {
        "min_tokens": book.crossover_min_tokens,
        "max_tokens": book.crossover_max_tokens,
        "points": book.crossover_points,
        "providers": list(book.crossover_providers),
    }
    return doc


def dump_document(doc: dict[str, Any], header: str = "") -> str:
    """YAML text of ``doc``; text that YAML would read as another type is quoted.

    Floats are written with ``repr`` precision, so numbers round-trip exactly.
    """
    body = yaml.dump(
        doc,
        Dumper=_DUMPER,
        sort_keys=False,
        allow_unicode=True,
        width=88,
        default_flow_style=False,
    )
    if header:
        lines = "".join(
            f"# {line}\n" if line else "#\n" for line in header.splitlines()
        )
        return lines + body
    return body


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file moved into place).

    ``-`` writes to standard output. Raises OutputError when the file or its
    folder cannot be written; an earlier file stays untouched.
    """
    if str(path) == "-":
        sys.stdout.write(text)
        return
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write: {exc.strerror}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
