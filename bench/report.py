"""The Markdown report: targets first, then one table per scenario."""

from __future__ import annotations

from typing import Any

from bench.registry import ADAPTERS
from bench.targets import evaluate_all, exclusions

ARROW = {"lower": " ↓", "higher": " ↑", "": ""}


def fmt(value: float | None) -> str:
    """Three significant figures, thousands separated."""
    if value is None:
        return "–"
    size = abs(value)
    if size >= 999.5:
        return f"{value:,.0f}"
    if size >= 99.95:
        return f"{value:.0f}"
    if size >= 9.995:
        return f"{value:.1f}"
    if size >= 0.9995:
        return f"{value:.2f}"
    return f"{value:.3g}"


def _ratio(value: float | None) -> str:
    return "–" if value is None else fmt(value) + "×"


def _cell(summary: dict[str, Any]) -> str:
    if summary["n"] == 1:
        return fmt(summary["median"])
    return f"{fmt(summary['median'])} ({fmt(summary['min'])}–{fmt(summary['max'])})"


def _header(scenario: dict[str, Any]) -> list[str]:
    cols = ["implementation"]
    for metric in scenario["metrics"]:
        unit = metric["unit"]
        unit = f" {unit}" if unit and not unit.startswith("/") else unit
        cols.append(f"{metric['label']}{unit}{ARROW[metric['better']]}")
        if metric["ratio"]:
            cols.append("×ref")
    return cols


def _row(impl: str, entry: dict[str, Any], metrics: list[dict[str, Any]]) -> list[str]:
    cells = [f"**{impl}**" if impl == "tasker" else impl]
    for metric in metrics:
        summary = entry["summary"].get(metric["key"])
        if summary is not None:
            cells.append(_cell(summary))
        elif entry["status"] == "error":
            cells.append("error")
        else:
            cells.append("n/a" if metric["key"] in entry["na"] else "–")
        if metric["ratio"]:
            cells.append(_ratio(summary.get("vs_ref") if summary else None))
    return cells


def _table(rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return lines


def _footnotes(scenario: dict[str, Any]) -> list[str]:
    notes = []
    labels = {m["key"]: m["label"] for m in scenario["metrics"]}
    for impl, entry in scenario["results"].items():
        if entry["status"] == "n/a":
            notes.append(f"- n/a — {impl}: {entry['reason']}")
            continue
        for key, reason in entry["na"].items():
            notes.append(f"- n/a — {impl}, {labels[key]}: {reason}")
        errors = entry["errors"]
        for error in sorted(set(errors)):
            notes.append(f"- error — {impl} ({errors.count(error)}/{len(entry['runs'])} runs): "
                         f"{error.splitlines()[0][:300]}")
        notes += [f"- warning — {impl}: {w[:300]}" for w in entry["warnings"]]
    notes += [f"- note — {impl}: {text}" for impl, text in scenario["notes"].items()
              if impl in scenario["results"]]
    return notes


def _other_refs(scenario: dict[str, Any]) -> str:
    others = [f"{m['label']}: {m['reference']}" for m in scenario["metrics"]
              if m["ratio"] and m.get("reference")]
    return f" ({'; '.join(others)})" if others else ""


def scenario_section(number: int, name: str, scenario: dict[str, Any]) -> list[str]:
    ran = {impl: e for impl, e in scenario["results"].items() if e["status"] != "n/a"}
    lines = [f"## {number}. {scenario['title']} (`{name}`)", "", scenario["what"],
             f"Reference (×ref): {scenario['reference']}" + _other_refs(scenario) + ".", ""]
    rows = [_header(scenario)] + [_row(impl, entry, scenario["metrics"])
                                  for impl, entry in ran.items()]
    lines += [*_table(rows), "", *_footnotes(scenario), ""]
    return lines


def targets_section(doc: dict[str, Any]) -> list[str]:
    rows = [["figure (issues 3, 10, 20, 22)", "target", "tasker", "compared with", "measured", "status"]]
    for row in evaluate_all(doc):
        other = (f"{row['compared_with']} = {fmt(row['other'])}"
                 if "compared_with" in row else "")
        measured = fmt(row.get("measured")) if "measured" in row else "–"
        rows.append([row["figure"], row["target"], fmt(row.get("tasker")), other, measured,
                     row["status"]])
    return (["## Targets (issues 3, 10, 20, 22)", "",
             "`tasker` is its median; `compared with` names the peer with the best median (or "
             "the one the target names) and its median; `measured` is the paired ratio "
             "(median over repetitions of tasker ÷ that peer, paired repetition by repetition — for "
             "\"best peer\", the peer with the best median; for \"× faster\", peer ÷ tasker), or "
             "tasker's median when the target is absolute.", ""]
            + _table(rows) + [""] + [f"- {text}" for text in exclusions()] + [""])


def impls_section(impls: list[str]) -> list[str]:
    rows = [["implementation", "what it is"]]
    rows += [[name, ADAPTERS[name].about] for name in impls]
    return ["## Implementations", "", *_table(rows), ""]


def baseline_section(doc: dict[str, Any]) -> list[str]:
    """``--baseline``: tasker after ÷ before, per metric, paired by repetition."""
    rows = [["scenario", "metric", "tasker-base (before)", "tasker (after)", "after ÷ before"]]
    for name, scenario in doc["scenarios"].items():
        results = scenario["results"]
        after, before = results.get("tasker", {}), results.get("tasker-base", {})
        for metric in scenario["metrics"]:
            cell = after.get("summary", {}).get(metric["key"])
            old = before.get("summary", {}).get(metric["key"])
            if cell is None or old is None:
                continue
            label = f"{metric['label']} {metric['unit']}{ARROW[metric['better']]}".strip()
            rows.append([name, label, _cell(old), _cell(cell), _ratio(cell.get("vs_base"))])
    if len(rows) == 1:
        return []
    return ["## Before and after (`--baseline`)", "",
            "The same runs, alternated, with tasker from the baseline's `src` as `tasker-base`; "
            "after ÷ before is the median over repetitions of the paired ratio.", "",
            *_table(rows), ""]


def render(doc: dict[str, Any]) -> str:
    meta = doc["meta"]
    lines = [
        "# tasker benchmarks", "",
        f"Generated by `{meta['command']}` on {meta['date']} — {meta['machine']}, "
        f"Python {meta['python']}; {meta['reps']} repetition(s), each in a fresh interpreter, "
        "implementations alternated. Cells: median (min–max) over repetitions; ×ref = median "
        "over repetitions of (value ÷ the reference's value in the same repetition) "
        "(↓ lower is better, ↑ higher is better). The machine is shared and noisy: read the "
        "ratios, not the absolute times. Method: `docs/bench-method.md`.", "",
    ]
    if meta.get("notes"):  # what the runs' command line cannot say (other runs, load, instruction counts)
        lines += ["## Notes on these runs", "", *(f"- {note}" for note in meta["notes"]), ""]
    lines += targets_section(doc) + baseline_section(doc) + impls_section(meta["impls"])
    for number, (name, scenario) in enumerate(doc["scenarios"].items(), 1):
        lines += scenario_section(number, name, scenario)
    return "\n".join(lines).rstrip() + "\n"
