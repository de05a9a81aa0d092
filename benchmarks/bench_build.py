"""Benchmark: `obs build` of the project, and build + validate of a synthetic 500 x 20-panel set against bare
grafanalib building and serialising the same dashboards.

Targets (issue 9): `obs build` of the project in under 0.3 s wall (median of runs after one that fills the
caches); 500 x 20 within 2x the CPU time of bare grafanalib, peak memory under 100 MiB. Each synthetic
scenario runs in its own interpreter so its peak memory (max RSS) is its own. `obs build` is measured twice:
as it usually runs (nothing changed since the last build: its result is reused) and building for real
(`--no-cache`: what a build after an edit costs).

    python benchmarks/bench_build.py [--runs 7] [--dashboards 500 --panels 20]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OBS = Path(sys.executable).with_name("obs")
TARGET_BUILD_WALL_S = 0.3
TARGET_RATIO = 2.0
TARGET_PEAK_MIB = 100.0


def synthetic_dashboards(count: int, panels: int):
    """The same grafanalib Dashboard objects for both scenarios, built with the project's panel builders."""
    import grafanalib.core as G

    from catalog import metrics as m
    from catalog import promql as q
    from obs.author.layout import layout, section
    from obs.author.panels import stat, target, timeseries
    from obs.author.variables import datasource_variable

    for d in range(count):
        built = []
        for p in range(panels):
            expr = q.sum_rate(m.EVALUATIONS, f'job="job-{p}"', by="model")
            maker = stat if p % 4 == 0 else timeseries
            built.append((maker(f"Panel {p}", [target(expr, "{{model}}")], description=f"Synthetic panel {p}.",
                                unit="short"), 6))
        yield G.Dashboard(title=f"Synthetic {d}", uid=f"synthetic-{d}",
                          templating=G.Templating([datasource_variable()]),
                          panels=layout(section("Synthetic", built)))


def bare_scenario(count: int, panels: int) -> dict:
    """grafanalib alone: build each dashboard and serialise it the way grafanalib's own generator does."""
    from grafanalib._gen import DashboardEncoder

    size = 0
    for dashboard in synthetic_dashboards(count, panels):
        size += len(json.dumps(dashboard.to_json_data(), sort_keys=True, indent=2, cls=DashboardEncoder))
    return {"json_bytes": size}


def obs_scenario(count: int, panels: int) -> dict:
    """obs: build, compile to Grafana 13's model, validate (schemas, grid, PromQL, conventions), serialise."""
    from obs.check.dashboard import check_dashboard
    from obs.compile.dashboard_json import compile_dashboard
    from obs.core.serialize import canonical_json

    problems = size = 0
    for dashboard in synthetic_dashboards(count, panels):
        document = compile_dashboard(dashboard)
        problems += len(check_dashboard(document, f"{dashboard.uid}.json"))
        size += len(canonical_json(document))
    return {"problems": problems, "json_bytes": size}


def run_child(args: argparse.Namespace) -> None:
    from obs.core.content import activate

    activate(ROOT)
    scenario = bare_scenario if args.scenario == "bare" else obs_scenario
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    result = scenario(args.dashboards, args.panels)
    result.update(wall_s=round(time.perf_counter() - started_wall, 3),
                  cpu_s=round(time.process_time() - started_cpu, 3),
                  peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    print(json.dumps(result))


def child(scenario: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--scenario", scenario, "--dashboards", str(args.dashboards),
               "--panels", str(args.panels)]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(output.strip().splitlines()[-1])


def obs_build_wall(runs: int, *flags: str) -> list[float]:
    """Wall seconds of `obs build` on the project as committed (nothing to write), the first run excluded."""
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        subprocess.run([str(OBS), "build", *flags], cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times[1:]


def describe(walls: list[float]) -> str:
    return (f"median {statistics.median(walls):.3f} s wall over {len(walls)} runs (min {min(walls):.3f}, "
            f"max {max(walls):.3f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["bare", "obs"], help=argparse.SUPPRESS)
    parser.add_argument("--dashboards", type=int, default=500)
    parser.add_argument("--panels", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if args.scenario:
        run_child(args)
        return 0
    walls = obs_build_wall(args.runs)
    build_ok = statistics.median(walls) < TARGET_BUILD_WALL_S
    print(f"obs build            {describe(walls)}  target < {TARGET_BUILD_WALL_S} s: "
          f"{'ok' if build_ok else 'MISSED'}")
    print(f"obs build --no-cache {describe(obs_build_wall(args.runs, '--no-cache'))}")
    bare, built = child("bare", args), child("obs", args)
    ratio = built["cpu_s"] / bare["cpu_s"]
    synthetic_ok = ratio < TARGET_RATIO and built["peak_rss_mib"] < TARGET_PEAK_MIB and built["problems"] == 0
    label = f"{args.dashboards} x {args.panels}"
    print(f"{label:20} bare grafanalib {bare['cpu_s']:.2f} s CPU, {bare['peak_rss_mib']} MiB; "
          f"obs build + validate {built['cpu_s']:.2f} s CPU, {built['peak_rss_mib']} MiB, "
          f"{built['problems']} problems")
    print(f"{'':20} ratio {ratio:.2f}x  target < {TARGET_RATIO}x and < {TARGET_PEAK_MIB:.0f} MiB: "
          f"{'ok' if synthetic_ok else 'MISSED'}")
    return 0 if build_ok and synthetic_ok else 1


if __name__ == "__main__":
    sys.exit(main())
