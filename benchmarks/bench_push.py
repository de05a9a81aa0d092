"""Benchmark: `obs push` of 200 dashboards to the Grafana emulator with 20 ms added to every request.

Three pushes in a row: the first (everything created), then with 10 dashboards changed, then with none
changed. For each: wall time, requests and writes (from the emulator's own request log). Target
(issue 4): the unchanged push writes nothing and takes under 2 s.

The 200 dashboards are the project's compiled dashboards (built and validated once, not timed here),
copied under new uids and titles. The emulator runs in its own process, as Grafana would: in-process it
would compete with obs push for the interpreter lock (`--in-process` measures that too).

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


def synthetic(desired, count: int):
    from obs.push import Desired

    sources = list(desired.dashboards.values())
    dashboards = {}
    for index in range(count):
        document = copy.deepcopy(sources[index % len(sources)])
        uid = f"bench-{index:03d}-{document['uid']}"[:40]
        document.update(uid=uid, title=f"{document['title']} #{index:03d}")
        dashboards[uid] = document
    return Desired(desired.folder, desired.datasources, dashboards)


def serve(conn, latency: float) -> None:
    """Child process: an emulator driven over a pipe (clear the log, count requests and writes, stop)."""
    from grafana_emulator import GrafanaEmulator

    with GrafanaEmulator(tokens={TOKEN: "Admin"}, latency=latency) as emu:
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
    def __init__(self, latency: float) -> None:
        from grafana_emulator import GrafanaEmulator

        self.emu = GrafanaEmulator(tokens={TOKEN: "Admin"}, latency=latency).start()
        self.url = self.emu.url

    def clear(self) -> None:
        self.emu.clear_log()

    def stats(self) -> tuple[int, int]:
        return len(self.emu.requests), len(self.emu.writes)

    def stop(self) -> None:
        self.emu.stop()


class Child:
    def __init__(self, latency: float) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=serve, args=(theirs, latency), daemon=True)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dashboards", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every request")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--in-process", action="store_true", help="run the emulator in this process")
    args = parser.parse_args()

    from obs.grafana_api import make_target
    from obs.push import Options, desired_state, run_sync

    started = time.perf_counter()
    desired = synthetic(desired_state(ROOT), args.dashboards)
    build_seconds = time.perf_counter() - started

    rows = []
    grafana = InProcess(args.latency) if args.in_process else Child(args.latency)
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
            rows.append((name, seconds, requests, writes, outcomes))
    finally:
        grafana.stop()

    print(f"obs push: {args.dashboards} dashboards, {args.latency * 1000:.0f} ms added per request, "
          f"concurrency {args.concurrency}, emulator {'in this process' if args.in_process else 'in its own process'} "
          f"(build + validation of the content beforehand: {build_seconds:.2f} s)")
    print(f"{'scenario':<14}{'wall time':>11}{'requests':>10}{'writes':>8}  dashboards")
    for name, seconds, requests, writes, outcomes in rows:
        detail = ", ".join(f"{n} {what}" for what, n in sorted(outcomes.items()))
        print(f"{name:<14}{seconds:>10.2f}s{requests:>10}{writes:>8}  {detail}")
    unchanged_seconds, unchanged_writes = rows[-1][1], rows[-1][3]
    ok = unchanged_writes == 0 and unchanged_seconds < 2.0
    print(f"target (unchanged push writes nothing, under 2 s): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
