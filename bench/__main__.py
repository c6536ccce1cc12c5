"""``python -m bench``: run the side-by-side benchmark and write the reports.

A full run (no ``--quick``/``--only``/``--impl``) overwrites
``docs/benchmarks.md`` and ``bench/results.json``; any partial or quick run
writes to a fresh temporary folder unless ``--out-md``/``--out-json`` say
otherwise, so a smoke run can never replace the published table.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import sys
import tempfile
from pathlib import Path
from time import perf_counter
from typing import Any

from bench import deps, report, runner, stats
from bench.registry import ADAPTERS, BASELINE, resolve
from bench.runner import ROOT, Job
from bench.scenarios import SCENARIOS

LIBS = ("loky", "pebble", "numpy", "blinker", "rayforge")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny smoke version (CI)")
    parser.add_argument("--reps", type=int, help="repetitions (default 5, quick 1)")
    parser.add_argument("--only", help="scenarios, comma-separated: " + ",".join(SCENARIOS))
    parser.add_argument("--impl", help="implementations, comma-separated: " + ",".join(ADAPTERS))
    parser.add_argument("--out-md", type=Path, help="Markdown report path")
    parser.add_argument("--out-json", type=Path, help="JSON results path")
    parser.add_argument("--timeout", type=float, help="seconds per run (default 120, quick 60)")
    parser.add_argument("--no-install", action="store_true",
                        help="do not pip-install missing bench dependencies")
    parser.add_argument("--baseline", type=Path, metavar="SRC",
                        help="also run tasker from this src folder (e.g. main's) as 'tasker-base', "
                             "side by side: before/after ratios from one run")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="only re-render the Markdown (--out-md) from a results JSON")
    return parser.parse_args(argv)


def pick_scenarios(only: str | None) -> list[str]:
    if not only:
        return list(SCENARIOS)
    names = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    return names


def output_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    full = not (args.quick or args.only or args.impl or args.baseline)
    if full:
        default_md, default_json = ROOT / "docs" / "benchmarks.md", ROOT / "bench" / "results.json"
    else:
        folder = Path(tempfile.mkdtemp(prefix="tasker-bench-"))
        default_md, default_json = folder / "benchmarks.md", folder / "results.json"
    return args.out_md or default_md, args.out_json or default_json


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            model = next(line.split(":", 1)[1].strip() for line in fh
                         if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} CPU(s), {model}, {platform.system()} {platform.release()}"


def versions() -> dict[str, str]:
    found = {}
    for lib in LIBS:
        try:
            found[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            found[lib] = "not installed"
    return found


def show_progress(index: int, total: int, job: Job, result: dict[str, Any], secs: float) -> None:
    state = "ok" if result.get("ok") else f"ERROR {result.get('error', '')[:160]}"
    print(f"[{index}/{total}] {job.scenario} × {job.impl} (rep {job.rep + 1}): "
          f"{state} ({secs:.1f} s)", file=sys.stderr, flush=True)


def render_only(json_path: Path, md_path: Path | None) -> int:
    doc = json.loads(json_path.read_text())
    target = md_path or ROOT / "docs" / "benchmarks.md"
    target.write_text(report.render(doc))
    print(f"bench: wrote {target}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render:
        return render_only(args.render, args.out_md)
    reps = args.reps or (1 if args.quick else 5)
    timeout = args.timeout or (60.0 if args.quick else 120.0)
    scenarios = [SCENARIOS[name] for name in pick_scenarios(args.only)]
    impls = resolve(args.impl) if args.impl else [name for name in ADAPTERS if name != BASELINE]
    if args.baseline is not None:
        src = args.baseline.resolve()
        if not (src / "tasker" / "__init__.py").is_file():
            raise SystemExit(f"--baseline {args.baseline}: no tasker package in that folder (give a src/)")
        os.environ[runner.BASELINE_ENV] = str(src)
        if BASELINE not in impls:
            impls.insert(impls.index("tasker") + 1 if "tasker" in impls else 0, BASELINE)
    elif BASELINE in impls:
        raise SystemExit("tasker-base needs --baseline SRC")
    for problem in deps.ensure(install=not args.no_install):
        print(f"bench: {problem}", file=sys.stderr)
    md_path, json_path = output_paths(args)
    jobs = runner.plan(scenarios, impls, reps)
    print(f"bench: {len(jobs)} runs, {reps} repetition(s)", file=sys.stderr)
    start = perf_counter()
    runs = runner.run_all(jobs, args.quick, timeout, show_progress)
    meta = {
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(), "python": platform.python_version(), "reps": reps,
        "quick": args.quick, "impls": impls, "versions": versions(),
        "seconds": round(perf_counter() - start, 1),
    }
    doc = stats.build(scenarios, impls, runs, meta)
    for path, text in ((json_path, json.dumps(doc, indent=1)), (md_path, report.render(doc))):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text if text.endswith("\n") else text + "\n")
    print(f"bench: {meta['seconds']} s; wrote {md_path} and {json_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
