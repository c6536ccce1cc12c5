"""Turn raw runs into the results document: medians, min–max, ratios.

Ratios are *paired*: for each repetition, an implementation's value divided
by the reference's value in the same repetition (they ran seconds apart,
interleaved), then the median of those. A shared machine drifts between
slow and fast phases; a ratio of two medians taken over different phases
would mix that drift into the comparison, a paired ratio mostly cancels it.
So for times below 1 is better, for throughputs above 1 is better. The
same is computed against the best peer: the peer with the best median (tasker,
its baseline and the floor are not peers), paired repetition by repetition.

Not "the best of the peers in each repetition": with several noisy peers, the
best of them in one repetition is the one that happened to be lucky in it, so
that maximum is biased in the peers' favour (four peers whose medians are equal
give a "best peer" above every one of their medians); one named peer, the best
one overall, is compared with like noise on both sides.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.registry import BASELINE, NOT_PEERS
from bench.runner import planned_impls
from bench.scenarios.base import Scenario

Runs = dict[tuple[str, str], list[dict[str, Any]]]


def summarize(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "n": len(values)}


def _warnings(runs: list[dict[str, Any]]) -> list[str]:
    found = []
    for run in runs:
        shutdown = run.get("shutdown") or {}
        if run.get("ok") and not shutdown.get("ok", True):
            found.append(f"shutdown: {shutdown.get('error')}")
        for error in run.get("callback_errors") or []:
            found.append("callback raised: " + error.strip().splitlines()[-1])
    return sorted(set(found))


def _impl_entry(scenario: Scenario, runs: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [run for run in runs if run.get("ok")]
    summary: dict[str, dict[str, float]] = {}
    metric_na: dict[str, str] = {}
    for metric in scenario.metrics:
        values = [run["metrics"][metric.key] for run in ok
                  if run["metrics"].get(metric.key) is not None]
        if values:
            summary[metric.key] = summarize(values)
            continue
        reasons = [run["na"][metric.key] for run in ok if metric.key in run.get("na", {})]
        if reasons:
            metric_na[metric.key] = reasons[0]
    return {
        "status": "ok" if ok else "error",
        "summary": summary,
        "na": metric_na,
        "errors": [run.get("error", "?") for run in runs if not run.get("ok")],
        "warnings": _warnings(runs),
        "runs": runs,
    }


def per_rep(entry: dict[str, Any], key: str) -> dict[int, float]:
    """A metric's value in each repetition where the run succeeded."""
    return {int(run.get("rep", index)): float(run["metrics"][key])
            for index, run in enumerate(entry.get("runs", []))
            if run.get("ok") and run["metrics"].get(key) is not None}


def paired_ratio(num: dict[int, float], den: dict[int, float]) -> float | None:
    """Median over repetitions of num/den, None without a common repetition."""
    ratios = [num[rep] / den[rep] for rep in num if den.get(rep)]
    return statistics.median(ratios) if ratios else None


def median_of(entry: dict[str, Any], key: str) -> float | None:
    cell = entry.get("summary", {}).get(key)
    return None if cell is None else float(cell["median"])


def best_peer(results: dict[str, dict[str, Any]], key: str, better: str,
              exclude: tuple[str, ...] = ()) -> tuple[str, float] | None:
    """The peer with the best median for ``key``, and that median (None: no peer has one)."""
    found = [(impl, value) for impl, entry in results.items()
             if impl not in NOT_PEERS and impl not in exclude
             and (value := median_of(entry, key)) is not None]
    if not found:
        return None
    pick = max if better == "higher" else min
    return pick(found, key=lambda pair: pair[1])


def _add_ratios(scenario: Scenario, results: dict[str, dict[str, Any]]) -> None:
    for metric in scenario.metrics:
        ref = per_rep(results.get(metric.reference or scenario.reference, {}), metric.key)
        peer = best_peer(results, metric.key, metric.better) if metric.better else None
        best = per_rep(results[peer[0]], metric.key) if peer is not None else {}
        base = per_rep(results.get(BASELINE, {}), metric.key)
        for impl, entry in results.items():
            cell = entry.get("summary", {}).get(metric.key)
            if cell is None:
                continue
            mine = per_rep(entry, metric.key)
            cell["vs_ref"] = paired_ratio(mine, ref)
            cell["vs_best_peer"] = paired_ratio(mine, best)
            if impl == "tasker" and base:
                cell["vs_base"] = paired_ratio(mine, base)  # after ÷ before, paired (--baseline)


def scenario_entry(scenario: Scenario, impls: list[str], runs: Runs) -> dict[str, Any]:
    planned, na = planned_impls(scenario, impls)
    results: dict[str, dict[str, Any]] = {impl: {"status": "n/a", "reason": reason}
                                          for impl, reason in na.items()}
    for impl in planned:
        results[impl] = _impl_entry(scenario, runs.get((scenario.name, impl), []))
    _add_ratios(scenario, results)
    ordered = {impl: results[impl] for impl in impls if impl in results}
    return {
        "title": scenario.title,
        "what": scenario.what,
        "reference": scenario.reference,
        "metrics": [vars(metric) for metric in scenario.metrics],
        "notes": dict(scenario.notes),
        "results": ordered,
    }


def build(scenarios: list[Scenario], impls: list[str], runs: Runs,
          meta: dict[str, Any]) -> dict[str, Any]:
    return {"meta": meta,
            "scenarios": {s.name: scenario_entry(s, impls, runs) for s in scenarios}}
