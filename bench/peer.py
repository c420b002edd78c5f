"""The peer: what a notebook user would do instead of ``infercost build``.

    python bench/peer.py PRICEBOOK.yaml OUT.xlsx

Reads one pricebook file (providers, scenarios, forecast; as ``bench/run.py``
writes them) with PyYAML, computes the same tables as the workbook with
pandas (costs, gates and ranks per provider and scenario, the multi-month
forecast, monthly and cumulative, and the sensitivity to input share and
volume) and writes them with ``DataFrame.to_excel``: values only, no
formulas, no checks, no charts, no validation. It imports nothing of
infercost.

Prints one JSON line with the seconds spent loading, computing and writing,
and the pandas version and Excel engine used.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
import yaml

SHARES = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
FACTORS = [0.25, 0.5, 1, 2, 4, 8]


def load(path: str) -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader)


def tables(doc: dict) -> dict[str, pd.DataFrame]:
    """The workbook's tables as DataFrames, sheet name -> frame."""
    providers = pd.DataFrame(doc["providers"])
    for column in ("fixed_monthly", "egress_monthly"):
        if column not in providers:
            providers[column] = 0.0
        providers[column] = providers[column].fillna(0.0)
    for column in ("quality_tier", "sla", "latency_ms"):
        if column not in providers:
            providers[column] = np.nan
        providers[column] = providers[column].astype(float)
    scenarios = pd.DataFrame(doc["scenarios"])
    for column in ("min_quality_tier", "min_sla", "max_latency_ms"):
        if column not in scenarios:
            scenarios[column] = np.nan
        scenarios[column] = scenarios[column].astype(float)
    months = int(doc.get("forecast", {}).get("months", 6))
    sensitivity = doc.get("sensitivity") or {}
    shares = sensitivity.get("input_shares", SHARES)
    factors = sensitivity.get("volume_factors", FACTORS)

    scenarios["overhead"] = (
        (1 + scenarios["retry_rate"])
        * (1 + scenarios["guardrail_rate"])
        * (1 - scenarios["cache_hit_rate"])
    )
    costs = scenarios.merge(providers, how="cross", suffixes=("_scenario", ""))
    costs["blended"] = (
        costs["input_share"] * costs["input_rate"]
        + (1 - costs["input_share"]) * costs["output_rate"]
    )
    fixed = costs["fixed_monthly"] + costs["egress_monthly"]
    tokens = costs["base_tokens"] / 1_000_000 * costs["overhead"]
    costs["cost"] = tokens * costs["blended"] + fixed
    tier_ok = costs["min_quality_tier"].isna() | (
        costs["quality_tier"] >= costs["min_quality_tier"]
    )
    sla_ok = costs["min_sla"].isna() | (costs["sla"] >= costs["min_sla"])
    latency_ok = costs["max_latency_ms"].isna() | (
        costs["latency_ms"] <= costs["max_latency_ms"]
    )
    costs["eligible"] = tier_ok & sla_ok & latency_ok
    ranked = costs["cost"].where(costs["eligible"])
    costs["rank"] = ranked.groupby(costs["id_scenario"]).rank(method="first")
    baseline = costs[costs["id_scenario"] == scenarios["id"].iloc[0]]
    costs["multiplier"] = costs["cost"] / costs["id"].map(
        baseline.set_index("id")["cost"]
    )

    index = pd.MultiIndex.from_frame(costs[["id_scenario", "id"]])
    growth = np.power.outer(1 + costs["growth_rate"].to_numpy(), np.arange(months))
    monthly = pd.DataFrame(
        (tokens * costs["blended"]).to_numpy()[:, None] * growth
        + fixed.to_numpy()[:, None],
        index=index,
        columns=[f"month {k + 1}" for k in range(months)],
    )
    cumulative = monthly.cumsum(axis=1)

    overhead = costs["overhead"].to_numpy()[:, None]
    volume = costs["base_tokens"].to_numpy()[:, None] / 1_000_000 * overhead
    share_grid = np.asarray(shares, dtype=float)[None, :]
    by_share = pd.DataFrame(
        volume
        * (
            share_grid * costs["input_rate"].to_numpy()[:, None]
            + (1 - share_grid) * costs["output_rate"].to_numpy()[:, None]
        )
        + fixed.to_numpy()[:, None],
        index=index,
        columns=[f"share {s:g}" for s in shares],
    )
    by_volume = pd.DataFrame(
        volume
        * np.asarray(factors, dtype=float)[None, :]
        * costs["blended"].to_numpy()[:, None]
        + fixed.to_numpy()[:, None],
        index=index,
        columns=[f"volume x{f:g}" for f in factors],
    )
    return {
        "Pricebook": providers,
        "Costs": costs[
            [
                "id_scenario",
                "id",
                "label",
                "overhead",
                "blended",
                "cost",
                "eligible",
                "rank",
                "multiplier",
            ]
        ],
        "Forecast monthly": monthly,
        "Forecast cumulative": cumulative,
        "Sensitivity share": by_share,
        "Sensitivity volume": by_volume,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python bench/peer.py PRICEBOOK.yaml OUT.xlsx", file=sys.stderr)
        return 2
    start = time.perf_counter()
    doc = load(argv[0])
    loaded = time.perf_counter()
    frames = tables(doc)
    computed = time.perf_counter()
    with pd.ExcelWriter(argv[1]) as writer:
        engine = writer.engine
        for name, frame in frames.items():
            frame.to_excel(writer, sheet_name=name, index=name.startswith(("F", "S")))
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "load_seconds": loaded - start,
                "compute_seconds": computed - loaded,
                "write_seconds": done - computed,
                "pandas": pd.__version__,
                "engine": engine,
                "cells": int(sum(f.size for f in frames.values())),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
