"""Benchmark: `obs push` of 200 dashboards to the Grafana emulator with 20 ms added to every request, on both
paths: Grafana 13.2.3 through /apis (dashboard.grafana.app/v1) and a 12.x Grafana through the legacy /api.

For each path three pushes in a row: the first (everything created), then with 10 dashboards changed, then with
none changed. For each: wall time, requests and writes (from the emulator's own request log). Targets (issue 10),
on the 13.2 path: the unchanged push makes at most 5 requests and takes under 0.5 s; 10 changed dashboards make
exactly 10 writes (on both paths).

The 200 dashboards are the project's compiled dashboards (built and validated once, not timed here), copied
under new uids and titles. The emulator runs in its own process, as Grafana would: in the same process it would
compete with obs push for the interpreter lock (`--in-process` measures that too).

    python benchmarks/bench_push.py [--dashboards 200 --latency 0.02 --concurrency 8]
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

TOKEN = "bench-token"
PATHS = (("13.2 /apis", "13.2.3"), ("12.x legacy /api", "12.3.0"))


def synthetic(desired, count: int):
    from obs.deploy.desired import Desired

    sources = list(desired.dashboards.values())
    dashboards = {}
    for index in range(count):
        document = copy.deepcopy(sources[index % len(sources)])
        uid = f"bench-{index:03d}-{document['uid']}"[:40]
        document.update(uid=uid, title=f"{document['title']} #{index:03d}")
        dashboards[uid] = document
    return Desired(desired.folder, desired.datasources, dashboards)


def serve(conn, latency: float, version: str) -> None:
    """Child process: an emulator driven over a pipe (clear the log, count requests and writes, stop)."""
    from grafana_emulator import GrafanaEmulator

    with GrafanaEmulator(tokens={TOKEN: "Admin"}, latency=latency, version=version) as emu:
        conn.send(emu.url)
        while True:
            command = conn.recv()
            if command == "clear":
                emu.clear_log()
                conn.send(None)
            elif command == "stats":
                conn.send((len(emu.requests), len(emu.writes)))
            else:
                conn.send(None)
                return


class InProcess:
    def __init__(self, latency: float, version: str) -> None:
        from grafana_emulator import GrafanaEmulator

        self.emu = GrafanaEmulator(tokens={TOKEN: "Admin"}, latency=latency, version=version).start()
        self.url = self.emu.url

    def clear(self) -> None:
        self.emu.clear_log()

    def stats(self) -> tuple[int, int]:
        return len(self.emu.requests), len(self.emu.writes)

    def stop(self) -> None:
        self.emu.stop()


class Child:
    def __init__(self, latency: float, version: str) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=serve, args=(theirs, latency, version), daemon=True)
        self.process.start()
        self.url = self.conn.recv()

    def _ask(self, command: str):
        self.conn.send(command)
        return self.conn.recv()

    def clear(self) -> None:
        self._ask("clear")

    def stats(self) -> tuple[int, int]:
        return self._ask("stats")

    def stop(self) -> None:
        self._ask("stop")
        self.process.join(timeout=10)


def measure(base, args, version: str) -> list[tuple]:
    from obs.deploy.sync import Options, run_sync
    from obs.deploy.target import make_target

    desired = copy.deepcopy(base)
    rows = []
    grafana = InProcess(args.latency, version) if args.in_process else Child(args.latency, version)
    try:
        target = make_target(grafana.url, TOKEN, None, None)
        options = Options(concurrency=args.concurrency, backup_dir=ROOT / "build" / "bench-backups")
        scenarios = [("first push", None), (f"{args.changed} changed", args.changed), ("none changed", None)]
        for name, changed in scenarios:
            if changed:
                for uid in list(desired.dashboards)[:changed]:
                    desired.dashboards[uid]["description"] += " (changed)"
            grafana.clear()
            started = time.perf_counter()
            report = run_sync(target, desired, options)
            seconds = time.perf_counter() - started
            assert not report.failed and not report.fatal, [(i.uid, i.detail) for i in report.failed]
            outcomes: dict[str, int] = {}
            for item in report.items:
                if item.kind == "dashboard":
                    outcomes[item.outcome] = outcomes.get(item.outcome, 0) + 1
            requests, writes = grafana.stats()
            rows.append((name, seconds, requests, writes, outcomes, report.pages))
    finally:
        grafana.stop()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dashboards", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every request")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--in-process", action="store_true", help="run the emulator in this process")
    args = parser.parse_args()

    from obs.deploy.desired import desired_state

    started = time.perf_counter()
    base = synthetic(desired_state(ROOT), args.dashboards)
    build_seconds = time.perf_counter() - started
    print(f"obs push: {args.dashboards} dashboards, {args.latency * 1000:.0f} ms added per request, "
          f"concurrency {args.concurrency}, emulator {'in this process' if args.in_process else 'in its own process'} "
          f"(build + validation of the content beforehand: {build_seconds:.2f} s)")
    ok = True
    for label, version in PATHS:
        rows = measure(base, args, version)
        print(f"\n{label} (emulated Grafana {version})")
        print(f"{'scenario':<14}{'wall time':>11}{'requests':>10}{'writes':>8}{'pages':>7}  dashboards")
        for name, seconds, requests, writes, outcomes, pages in rows:
            detail = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
            print(f"{name:<14}{seconds:>10.2f}s{requests:>10}{writes:>8}{pages or '-':>7}  {detail}")
        changed_writes = rows[1][3]
        _, seconds, requests, writes, _, pages = rows[-1]
        print(f"target: {args.changed} changed make exactly {args.changed} writes: "
              f"{'met' if changed_writes == args.changed else 'MISSED'} ({changed_writes})")
        if version.startswith("13"):
            fast = writes == 0 and seconds < 0.5
            few = requests <= 5
            print(f"target: unchanged push writes nothing in under 0.5 s: {'met' if fast else 'MISSED'} "
                  f"({seconds:.2f} s); at most 5 requests: {'met' if few else 'MISSED'} ({requests}: connect 2, "
                  f"datasources 1, folder 1, dashboard list {pages} page(s) of at most 2 MiB each)")
            ok = ok and fast and changed_writes == args.changed
        else:
            ok = ok and writes == 0 and changed_writes == args.changed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
