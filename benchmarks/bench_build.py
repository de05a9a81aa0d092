"""Benchmark: build + validate of the project's dashboards, and of a synthetic 500 x 20-panel set.

Each scenario runs in its own interpreter so peak memory (max RSS) is its own. Targets (issue 2):
the project's dashboards in under 1 s of CPU time; 500 x 20 in under 20 s.

    python benchmarks/bench_build.py [--dashboards 500 --panels 20]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def project_scenario() -> dict:
    from obs.build import build_artifacts

    artifacts = build_artifacts(ROOT)  # compiles and validates everything, writes nothing
    return {"files": len(artifacts)}


def synthetic_scenario(dashboards: int, panels: int) -> dict:
    import grafanalib.core as G

    from catalog import metrics as m
    from catalog import promql as q
    from obs.dashboard_json import canonical_json, compile_dashboard
    from obs.layout import layout, section
    from obs.panels import stat, target, timeseries
    from obs.validate_dashboard import check_dashboard
    from obs.variables import datasource_variable

    problems = 0
    size = 0
    for d in range(dashboards):
        built = []
        for p in range(panels):
            expr = q.sum_rate(m.EVALUATIONS, f'job="job-{p}"', by="model")
            maker = stat if p % 4 == 0 else timeseries
            built.append((maker(f"Panel {p}", [target(expr, "{{model}}")], description=f"Synthetic panel {p}.",
                                unit="short"), 6))
        dashboard = G.Dashboard(title=f"Synthetic {d}", uid=f"synthetic-{d}",
                                templating=G.Templating([datasource_variable()]),
                                panels=layout(section("Synthetic", built)))
        document = compile_dashboard(dashboard)
        problems += len(check_dashboard(document, f"synthetic-{d}.json"))
        size += len(canonical_json(document))
    return {"dashboards": dashboards, "panels_each": panels, "problems": problems, "json_bytes": size}


def run_child(args: argparse.Namespace) -> None:
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    result = project_scenario() if args.scenario == "project" else synthetic_scenario(args.dashboards, args.panels)
    result.update(
        wall_s=round(time.perf_counter() - started_wall, 3),
        cpu_s=round(time.process_time() - started_cpu, 3),
        peak_rss_mib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
    print(json.dumps(result))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=["project", "synthetic"], help=argparse.SUPPRESS)
    parser.add_argument("--dashboards", type=int, default=500)
    parser.add_argument("--panels", type=int, default=20)
    args = parser.parse_args()
    if args.scenario:
        run_child(args)
        return 0
    targets = {"project": 1.0, "synthetic": 20.0}
    failed = False
    for scenario in ("project", "synthetic"):
        command = [sys.executable, __file__, "--scenario", scenario, "--dashboards", str(args.dashboards),
                   "--panels", str(args.panels)]
        output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout
        result = json.loads(output.strip().splitlines()[-1])
        within = result["cpu_s"] < targets[scenario]
        failed |= not within
        print(f"{scenario:9s} {json.dumps(result)}  target cpu < {targets[scenario]} s: {'ok' if within else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
