"""Turn raw runs into the results document: medians, min–max, ratios.

Ratios are ``median / reference median`` for every metric (so for times
below 1 is better, for throughputs above 1 is better), and the same against
the best peer of that metric (tasker and the floor are not peers).
"""

from __future__ import annotations

import statistics
from typing import Any

from bench.registry import NOT_PEERS
from bench.runner import planned_impls
from bench.scenarios.base import Metric, Scenario

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


def _best(metric: Metric, medians: dict[str, float]) -> float | None:
    peers = [value for impl, value in medians.items() if impl not in NOT_PEERS]
    if not peers or not metric.better:
        return None
    return max(peers) if metric.better == "higher" else min(peers)


def _add_ratios(scenario: Scenario, results: dict[str, dict[str, Any]]) -> None:
    for metric in scenario.metrics:
        medians = {impl: entry["summary"][metric.key]["median"]
                   for impl, entry in results.items()
                   if metric.key in entry.get("summary", {})}
        ref = medians.get(metric.reference or scenario.reference)
        best = _best(metric, medians)
        for impl, value in medians.items():
            cell = results[impl]["summary"][metric.key]
            cell["vs_ref"] = value / ref if ref else None
            cell["vs_best_peer"] = value / best if best else None


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
