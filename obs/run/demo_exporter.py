"""A demo exporter of the platform's metrics, for trying the dashboards and alerts without the platform.

Roles stand in for the scrape targets of catalog.jobs that cannot run on a laptop without Docker:

- `worker`: the Celery worker's evaluation metrics (every app metric of the catalog), with the labels the
  application uses, success rate around 95%, a latency histogram with exemplars (trace ids), token counts.
- `gateway`: the API gateway; it exports the client library's process metrics only.
- `cadvisor`: container metrics in cAdvisor's shape (a few named containers, an occasional restart).
- `collector`: the OpenTelemetry Collector's Prometheus exporter endpoint (process metrics only).

Degrade it at start (`--failure-rate 0.6 --slow`) or while it runs:

    curl -X POST 'http://127.0.0.1:PORT/control?failure_rate=0.6&slow=1'
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

if TYPE_CHECKING:  # the catalog is read at call time (obs.core.content)
    from catalog.metrics import Metric

ROLES = ("worker", "gateway", "cadvisor", "collector")
MODELS = ("gpt-4o", "claude-sonnet-4")
ERROR_TYPES = ("LLMTimeout", "RateLimited", "ParseError")
DURATION_BUCKETS = (0.5, 1, 2, 3, 5, 8, 13, 20, 30, 45, 60, 120)
CONTAINERS = ("api-gateway", "celery-worker", "prometheus", "grafana", "tempo", "otel-collector")
TICK_SECONDS = 0.25


def _counter_name(metric: Metric) -> str:
    """prometheus_client appends `_total` to counters itself."""
    return metric.name.removesuffix("_total")


@dataclass
class Settings:
    failure_rate: float = 0.05
    slow: bool = False
    evaluations_per_second: float = 4.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, *, failure_rate: float | None = None, slow: bool | None = None) -> None:
        with self.lock:
            if failure_rate is not None:
                if not 0 <= failure_rate <= 1:
                    raise ValueError("failure_rate must be between 0 and 1")
                self.failure_rate = failure_rate
            if slow is not None:
                self.slow = slow

    def snapshot(self) -> dict:
        with self.lock:
            return {"failure_rate": self.failure_rate, "slow": self.slow,
                    "evaluations_per_second": self.evaluations_per_second}


class WorkerSimulation:
    """Evaluations arriving at a steady rate, each succeeding or failing, with durations and tokens."""

    def __init__(self, registry: CollectorRegistry, settings: Settings, seed: int) -> None:
        from catalog import metrics as m

        self.settings = settings
        self.random = random.Random(seed)
        self.evaluations = Counter(_counter_name(m.EVALUATIONS), m.EVALUATIONS.help, ["model"], registry=registry)
        self.success = Counter(_counter_name(m.EVALUATIONS_SUCCESS), m.EVALUATIONS_SUCCESS.help, ["model"],
                               registry=registry)
        self.failed = Counter(_counter_name(m.EVALUATIONS_FAILED), m.EVALUATIONS_FAILED.help,
                              ["model", "error_type"], registry=registry)
        self.duration = Histogram(m.EVALUATION_DURATION.name, m.EVALUATION_DURATION.help, ["model"],
                                  buckets=DURATION_BUCKETS, registry=registry)
        self.success_rate = Gauge(m.EVALUATION_SUCCESS_RATE.name, m.EVALUATION_SUCCESS_RATE.help, registry=registry)
        self.flagged = Counter(_counter_name(m.CASES_FLAGGED), m.CASES_FLAGGED.help, ["model"], registry=registry)
        self.tokens_in = Counter(_counter_name(m.TOKENS_INPUT), m.TOKENS_INPUT.help, ["model"], registry=registry)
        self.tokens_out = Counter(_counter_name(m.TOKENS_OUTPUT), m.TOKENS_OUTPUT.help, ["model"], registry=registry)
        self.tokens = Counter(_counter_name(m.TOKENS), m.TOKENS.help, ["model"], registry=registry)
        self.recent: deque[bool] = deque(maxlen=200)
        # Every series exists from the first scrape, at zero: a ratio is 0, not "no data", before a failure.
        for model in MODELS:
            for counter in (self.evaluations, self.success, self.flagged, self.tokens_in, self.tokens_out,
                            self.tokens):
                counter.labels(model=model)
            for error_type in ERROR_TYPES:
                self.failed.labels(model=model, error_type=error_type)
            self.duration.labels(model=model)
        self.success_rate.set(1.0)

    def tick(self, seconds: float) -> None:
        settings = self.settings.snapshot()
        expected = settings["evaluations_per_second"] * seconds
        count = int(expected) + (1 if self.random.random() < expected - int(expected) else 0)
        for _ in range(count):
            self.evaluate(settings)
        if self.recent:
            self.success_rate.set(sum(self.recent) / len(self.recent))

    def evaluate(self, settings: dict) -> None:
        model = self.random.choice(MODELS)
        self.evaluations.labels(model=model).inc()
        duration = self.random.lognormvariate(1.0, 0.5) * (8 if settings["slow"] else 1)
        trace_id = f"{self.random.getrandbits(128):032x}"
        self.duration.labels(model=model).observe(duration, exemplar={"trace_id": trace_id})
        tokens_in = self.random.randint(800, 2500)
        tokens_out = self.random.randint(150, 700)
        self.tokens_in.labels(model=model).inc(tokens_in)
        self.tokens_out.labels(model=model).inc(tokens_out)
        self.tokens.labels(model=model).inc(tokens_in + tokens_out)
        ok = self.random.random() >= settings["failure_rate"]
        self.recent.append(ok)
        if ok:
            self.success.labels(model=model).inc()
            if self.random.random() < 0.12:
                self.flagged.labels(model=model).inc()
        else:
            self.failed.labels(model=model, error_type=self.random.choice(ERROR_TYPES)).inc()


class ContainerSimulation:
    """cAdvisor-shaped container metrics; a container restarts now and then (its CPU counter resets)."""

    def __init__(self, registry: CollectorRegistry, seed: int) -> None:
        from catalog import metrics as m

        self.random = random.Random(seed)
        labels = ["id", "name", "image"]
        self.cpu = Gauge(m.CONTAINER_CPU.name, m.CONTAINER_CPU.help, labels, registry=registry)
        self.memory = Gauge(m.CONTAINER_MEMORY.name, m.CONTAINER_MEMORY.help, labels, registry=registry)
        self.received = Gauge(m.CONTAINER_NETWORK_RECEIVE.name, m.CONTAINER_NETWORK_RECEIVE.help,
                              [*labels, "interface"], registry=registry)
        self.sent = Gauge(m.CONTAINER_NETWORK_TRANSMIT.name, m.CONTAINER_NETWORK_TRANSMIT.help,
                          [*labels, "interface"], registry=registry)
        self.last_seen = Gauge(m.CONTAINER_LAST_SEEN.name, m.CONTAINER_LAST_SEEN.help, labels, registry=registry)
        self.state = {name: {"cpu": 0.0, "rx": 0.0, "tx": 0.0} for name in CONTAINERS}

    def tick(self, seconds: float) -> None:
        for index, name in enumerate(CONTAINERS):
            labels = {"id": f"/docker/{index:064x}", "name": name, "image": f"demo/{name}:1.0"}
            state = self.state[name]
            if self.random.random() < 0.0005:  # a restart: cAdvisor's counters start again from zero
                state.update(cpu=0.0, rx=0.0, tx=0.0)
            state["cpu"] += seconds * self.random.uniform(0.02, 0.4)
            state["rx"] += seconds * self.random.uniform(5e3, 2e5)
            state["tx"] += seconds * self.random.uniform(5e3, 1e5)
            # The counter metrics are exported as gauges so a reset can be shown: cAdvisor's are counters
            # whose value also drops to zero on restart, which a Prometheus counter type cannot express.
            self.cpu.labels(**labels).set(state["cpu"])
            self.memory.labels(**labels).set(self.random.uniform(50e6, 600e6))
            self.received.labels(**labels, interface="eth0").set(state["rx"])
            self.sent.labels(**labels, interface="eth0").set(state["tx"])
            self.last_seen.labels(**labels).set(time.time())


class DemoExporter:
    def __init__(self, role: str, *, host: str = "127.0.0.1", port: int = 0, failure_rate: float = 0.05,
                 slow: bool = False, seed: int = 7) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        self.role = role
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.settings = Settings(failure_rate=failure_rate, slow=slow)
        self.simulation: WorkerSimulation | ContainerSimulation | None = None
        if role == "worker":
            self.simulation = WorkerSimulation(self.registry, self.settings, seed)
        elif role == "cadvisor":
            self.simulation = ContainerSimulation(self.registry, seed)
        self._stop = threading.Event()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.server.server_address[0]}:{self.port}"

    def start(self) -> DemoExporter:
        if self.simulation is not None:
            self.simulation.tick(TICK_SECONDS)
            self._threads.append(threading.Thread(target=self._simulate, daemon=True))
        self._threads.append(threading.Thread(target=self.server.serve_forever, daemon=True))
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> DemoExporter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _simulate(self) -> None:
        assert self.simulation is not None
        while not self._stop.wait(TICK_SECONDS):
            self.simulation.tick(TICK_SECONDS)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                url = urlparse(self.path)
                if url.path == "/metrics" and exporter.role == "worker":
                    # OpenMetrics, so the histogram's exemplars (trace ids) reach Prometheus.
                    self._reply(200, generate_openmetrics(exporter.registry), OPENMETRICS)
                elif url.path == "/metrics":
                    # The classic text format, as cAdvisor and the Collector serve it.
                    self._reply(200, generate_latest(exporter.registry), CONTENT_TYPE_LATEST)
                elif url.path == "/control":
                    self._reply(200, json.dumps(exporter.settings.snapshot()).encode(), "application/json")
                else:
                    self._reply(404, b"not found\n", "text/plain")

            def do_POST(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                if url.path != "/control":
                    self._reply(404, b"not found\n", "text/plain")
                    return
                query = parse_qs(url.query)
                try:
                    failure = float(query["failure_rate"][0]) if "failure_rate" in query else None
                    slow = query["slow"][0] in ("1", "true", "yes") if "slow" in query else None
                    exporter.settings.update(failure_rate=failure, slow=slow)
                except ValueError as error:
                    self._reply(400, json.dumps({"error": str(error)}).encode(), "application/json")
                    return
                self._reply(200, json.dumps(exporter.settings.snapshot()).encode(), "application/json")

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        return Handler
