"""A demo exporter that emits what the real systems emit, for the dashboards, alerts and tests without them.

Each role stands in for one scrape target of catalog/jobs.py, in the format of the real thing, written from its
source (the file each format follows is named at its class):

- `worker`: the Celery worker's evaluation metrics through prometheus_client itself (the apps' library), with the
  contract's labels, buckets and pre-initialised children (catalog/metrics.py), served as prometheus_client's own
  handler serves them (OpenMetrics with exemplars when asked, as Prometheus does). Switches make it the app the
  contract warns about: prometheus_client's default buckets, children created on first use, no labels at all.
- `gateway`: the API gateway: it imports the shared metrics module, so it exports the same families, at zero.
- `cadvisor`: cAdvisor 0.49 on a cgroup-v2 Docker host: per-sample timestamps, cpu="total", counters typed as
  counters, every Docker label as container_label_*, the root cgroup with name="", and a restart by the restart
  policy as a new set of series (container_label_restartcount), a manual restart as counters starting again.
- `collector`: the OpenTelemetry Collector's Prometheus exporter (port 8889): the apps' OTLP metrics, with the
  app's `job` label that Prometheus renames `exported_job`.
- `collector-telemetry`: the Collector's own telemetry (port 8888), as its configured pull reader writes it.
- `grafana`, `tempo`: their /metrics, the families the dashboards read.

Known truth can be injected, in process (`exporter.simulation`) or over HTTP:

    curl -X POST 'http://127.0.0.1:PORT/control?failure_rate=0.6&slow=1'          # worker
    curl -X POST 'http://127.0.0.1:PORT/control?failure_rate=0.0025&completed=1e9' # worker: a known SLO-window share
    curl -X POST 'http://127.0.0.1:PORT/control?restart=grafana&policy=1'          # cadvisor
    curl -X POST 'http://127.0.0.1:PORT/control?export_failing=1'                  # collector-telemetry
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from statistics import NormalDist
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlparse

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import choose_encoder

if TYPE_CHECKING:  # the catalog is read at call time (obs.core.content)
    from catalog.metrics import Metric

ROLES = ("worker", "gateway", "cadvisor", "collector", "collector-telemetry", "grafana", "tempo")
MODELS = ("gpt-4o", "claude-sonnet-4")
TICK_SECONDS = 0.25
GOLDEN = (math.sqrt(5) - 1) / 2
# client_golang's text format (prometheus/common expfmt, text_create.go), what cAdvisor, the Collector, Grafana and
# Tempo serve to a scrape that does not ask for OpenMetrics.
GO_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class ControlError(ValueError):
    pass


# --- The platform's metrics, through prometheus_client -------------------------------------------------------

def _counter_name(metric: Metric) -> str:
    """prometheus_client appends `_total` to counters itself."""
    return metric.name.removesuffix("_total")


@dataclass
class Latency:
    """A latency distribution with known quantiles: lognormal(mu, sigma) or uniform(low, high), sampled
    deterministically (the n-th evaluation takes the quantile frac(n x golden ratio)), so a window of evaluations
    has the distribution's quantiles to within one evaluation."""

    kind: str = "lognormal"
    a: float = 1.0  # mu, or low
    b: float = 0.5  # sigma, or high

    def quantile(self, p: float) -> float:
        if self.kind == "uniform":
            return self.a + (self.b - self.a) * p
        return math.exp(self.a + self.b * NormalDist().inv_cdf(min(max(p, 1e-9), 1 - 1e-9)))

    @classmethod
    def parse(cls, text: str) -> Latency:
        """`uniform:10:40` or `lognormal:1.0:0.5`."""
        kind, _, rest = text.partition(":")
        try:
            a, b = (float(part) for part in rest.split(":"))
        except ValueError:
            raise ControlError(f"latency: expected uniform:LOW:HIGH or lognormal:MU:SIGMA, got {text!r}") from None
        if kind not in ("uniform", "lognormal") or (kind == "uniform" and not 0 <= a < b) or (
                kind == "lognormal" and b <= 0):
            raise ControlError(f"latency: expected uniform:LOW:HIGH (0 <= LOW < HIGH) or lognormal:MU:SIGMA, "
                               f"got {text!r}")
        return cls(kind, a, b)


@dataclass
class WorkerSettings:
    failure_rate: float = 0.005
    slow: bool = False
    evaluations_per_second: float = 4.0
    latency: Latency = field(default_factory=Latency)
    stalled: bool = False  # nothing completes and nothing new starts: a batch that hangs
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def update(self, *, failure_rate: float | None = None, slow: bool | None = None,
               latency: Latency | None = None, stalled: bool | None = None,
               evaluations_per_second: float | None = None) -> None:
        with self.lock:
            if failure_rate is not None:
                if not 0 <= failure_rate <= 1:
                    raise ControlError("failure_rate must be between 0 and 1")
                self.failure_rate = failure_rate
            if evaluations_per_second is not None:
                if evaluations_per_second < 0:
                    raise ControlError("evaluations_per_second must be 0 or more")
                self.evaluations_per_second = evaluations_per_second
            for name, value in (("slow", slow), ("latency", latency), ("stalled", stalled)):
                if value is not None:
                    setattr(self, name, value)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"failure_rate": self.failure_rate, "slow": self.slow, "stalled": self.stalled,
                    "evaluations_per_second": self.evaluations_per_second,
                    "latency": f"{self.latency.kind}:{self.latency.a:g}:{self.latency.b:g}"}


class PlatformMetrics:
    """The shared metrics module of the platform: the families of the contract, registered as the app does.

    `labels`: with the contract's optional labels (model, error_type), or none (the spec names none).
    `buckets`: the contract's, or prometheus_client's defaults (which end at 10 s).
    `pre_initialise`: create every child at start (the contract), or on first use (what client_python does by
    default: the series do not exist before the first event)."""

    def __init__(self, registry: CollectorRegistry, *, labels: bool = True, buckets: str = "contract",
                 pre_initialise: bool = True) -> None:
        from catalog import metrics as m

        self.labelled = labels
        model = ["model"] if labels else []
        error = ["model", "error_type"] if labels else []
        chosen = m.EVALUATION_DURATION.buckets if buckets == "contract" else Histogram.DEFAULT_BUCKETS
        self.evaluations = Counter(_counter_name(m.EVALUATIONS), m.EVALUATIONS.help, model, registry=registry)
        self.success = Counter(_counter_name(m.EVALUATIONS_SUCCESS), m.EVALUATIONS_SUCCESS.help, model,
                               registry=registry)
        self.failed = Counter(_counter_name(m.EVALUATIONS_FAILED), m.EVALUATIONS_FAILED.help, error,
                              registry=registry)
        self.duration = Histogram(m.EVALUATION_DURATION.name, m.EVALUATION_DURATION.help, model, buckets=chosen,
                                  registry=registry)
        self.success_rate = Gauge(m.EVALUATION_SUCCESS_RATE.name, m.EVALUATION_SUCCESS_RATE.help, registry=registry)
        self.flagged = Counter(_counter_name(m.CASES_FLAGGED), m.CASES_FLAGGED.help, model, registry=registry)
        self.tokens_in = Counter(_counter_name(m.TOKENS_INPUT), m.TOKENS_INPUT.help, model, registry=registry)
        self.tokens_out = Counter(_counter_name(m.TOKENS_OUTPUT), m.TOKENS_OUTPUT.help, model, registry=registry)
        self.tokens = Counter(_counter_name(m.TOKENS), m.TOKENS.help, model, registry=registry)
        self.error_types = m.ERROR_TYPE.values or ()
        if labels and pre_initialise:
            for name in MODELS:
                for counter in (self.evaluations, self.success, self.flagged, self.tokens_in, self.tokens_out,
                                self.tokens):
                    counter.labels(model=name)
                for error_type in self.error_types:
                    self.failed.labels(model=name, error_type=error_type)
                self.duration.labels(model=name)

    def child(self, metric: Any, model: str, **labels: str) -> Any:
        return metric.labels(model=model, **labels) if self.labelled else metric


@dataclass(order=True)
class InFlight:
    completes_at: float
    number: int = field(compare=False)
    model: str = field(compare=False)
    duration: float = field(compare=False)
    fails: bool = field(compare=False)
    trace_id: str = field(compare=False)


class WorkerSimulation:
    """Evaluations arriving at a steady rate, each in flight for its duration, then succeeding or failing.

    Deterministic: the n-th evaluation fails when floor((n+1) x rate) > floor(n x rate), so any run of evaluations
    fails in the set share to within one; its duration is the latency distribution's frac(n x golden ratio)
    quantile; models alternate."""

    def __init__(self, registry: CollectorRegistry, settings: WorkerSettings, *, labels: bool = True,
                 buckets: str = "contract", pre_initialise: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.metrics = PlatformMetrics(registry, labels=labels, buckets=buckets, pre_initialise=pre_initialise)
        self.clock = clock
        self.started = 0
        self.credit = 0.0
        self.flight: list[InFlight] = []
        self.recent: deque[bool] = deque(maxlen=200)
        self.lock = threading.Lock()
        self.metrics.success_rate.set(1.0)

    def tick(self, seconds: float) -> None:
        settings = self.settings.snapshot()
        now = self.clock()
        with self.lock:
            if not settings["stalled"]:
                self.credit += settings["evaluations_per_second"] * seconds
                while self.credit >= 1:
                    self.credit -= 1
                    self._start(now, settings)
                while self.flight and self.flight[0].completes_at <= now:
                    self._complete(heapq.heappop(self.flight))
            if self.recent:
                self.metrics.success_rate.set(sum(self.recent) / len(self.recent))

    def start_batch(self, count: int) -> None:
        """`count` evaluations started at once (a batch arriving), whatever the rate."""
        settings = self.settings.snapshot()
        with self.lock:
            for _ in range(count):
                self._start(self.clock(), settings)

    def complete_at_once(self, count: int) -> None:
        """`count` evaluations that start and finish at once, failing in the set share by the same rule as one by
        one (so exactly floor((first + count) x rate) - floor(first x rate) of them), the models alternating and the
        failures spread over the error types. Only the outcome counters move (started, succeeded, failed) and the
        worker's own recent success rate: a bulk has no one duration, so the latency histogram, tokens and flagged
        cases stay as they were. Far more evaluations than the worker ever ran make every ratio over a window that
        holds them (the SLO's 1h to 30d) the set share, whatever ran before: the truth for the error budget."""
        if count < 0:
            raise ControlError("completed must be 0 or more")
        rate = self.settings.snapshot()["failure_rate"]
        metrics = self.metrics
        with self.lock:
            first = self.started
            self.started += count
            failures = math.floor((first + count) * rate + 1e-9) - math.floor(first * rate + 1e-9)
            if not metrics.labelled:
                metrics.evaluations.inc(count)
                metrics.success.inc(count - failures)
                metrics.failed.inc(failures)
            else:
                # evaluation n runs on MODELS[n % 2]; the failures go half to each model, as far as its runs go
                runs = [len(range(first + (i - first) % 2, first + count, 2)) for i in range(len(MODELS))]
                failed = [min(runs[0], failures - min(runs[1], failures // 2))]
                failed.append(failures - failed[0])
                for model, started, fails in zip(MODELS, runs, failed, strict=True):
                    metrics.evaluations.labels(model=model).inc(started)
                    metrics.success.labels(model=model).inc(started - fails)
                    per_type, extra = divmod(fails, len(metrics.error_types))
                    for position, error_type in enumerate(metrics.error_types):
                        if share := per_type + (position < extra):
                            metrics.failed.labels(model=model, error_type=error_type).inc(share)
            self.recent.extend(not self._fails(n, rate) for n in range(max(first, first + count - 200), first + count))

    @staticmethod
    def _fails(n: int, rate: float) -> bool:
        return math.floor((n + 1) * rate + 1e-9) > math.floor(n * rate + 1e-9)

    @property
    def in_flight(self) -> int:
        return len(self.flight)

    def _start(self, now: float, settings: dict[str, Any]) -> None:
        n = self.started
        self.started += 1
        rate = settings["failure_rate"]
        fails = self._fails(n, rate)
        latency = self.settings.latency
        duration = latency.quantile((n * GOLDEN) % 1.0) * (8 if settings["slow"] else 1)
        model = MODELS[n % len(MODELS)]
        self.metrics.child(self.metrics.evaluations, model).inc()
        heapq.heappush(self.flight, InFlight(now + duration, n, model, duration, fails, f"{(n * 2654435761):032x}"))

    def _complete(self, evaluation: InFlight) -> None:
        metrics, model = self.metrics, evaluation.model
        metrics.child(metrics.duration, model).observe(evaluation.duration, exemplar={"trace_id": evaluation.trace_id})
        tokens_in = 800 + (evaluation.number * 37) % 1700
        tokens_out = 150 + (evaluation.number * 53) % 550
        metrics.child(metrics.tokens_in, model).inc(tokens_in)
        metrics.child(metrics.tokens_out, model).inc(tokens_out)
        metrics.child(metrics.tokens, model).inc(tokens_in + tokens_out)
        self.recent.append(not evaluation.fails)
        if evaluation.fails:
            error_type = metrics.error_types[evaluation.number % len(metrics.error_types)]
            if metrics.labelled:
                metrics.failed.labels(model=model, error_type=error_type).inc()
            else:
                metrics.failed.inc()
        else:
            metrics.child(metrics.success, model).inc()
            if evaluation.number % 16 in (0, 9):  # one in eight, for either model
                metrics.child(metrics.flagged, model).inc()


# --- client_golang's text format, for the Go exporters -------------------------------------------------------

def go_float(value: float) -> str:
    """A float as client_golang writes it: strconv.FormatFloat(v, 'g', -1, 64): the shortest digits that read back
    as the same float, with an exponent when it is below -4 or, the precision being the shortest, 6 or more
    (strconv/ftoa.go: `if shortest { eprec = 6 }`): 1.2345e+08, 123456, 0.0001, 1e-05."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(float(value))).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + exponent  # digits before the decimal point
    magnitude = point - 1
    prefix = "-" if sign else ""
    if magnitude < -4 or magnitude >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'+' if magnitude >= 0 else '-'}{abs(magnitude):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return f"{prefix}{text}{'0' * (point - len(text))}"
    return f"{prefix}{text[:point]}.{text[point:]}"


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass
class GoFamily:
    name: str
    help: str
    type: str  # counter | gauge | histogram | untyped
    samples: list[tuple[str, Mapping[str, str], float, int | None]] = field(default_factory=list)

    def add(self, labels: Mapping[str, str], value: float, timestamp_ms: int | None = None, suffix: str = "") -> None:
        self.samples.append((self.name + suffix, dict(labels), value, timestamp_ms))


def go_text(families: Sequence[GoFamily]) -> bytes:
    """The families as client_golang's registry writes them: families sorted by name, label pairs sorted by name,
    metrics sorted by their label values, HELP escaped, timestamps as integer milliseconds."""
    lines: list[str] = []
    for family in sorted(families, key=lambda f: f.name):
        if not family.samples:
            continue
        help_text = family.help.replace("\\", "\\\\").replace("\n", "\\n")
        lines += [f"# HELP {family.name} {help_text}", f"# TYPE {family.name} {family.type}"]

        def order(sample: tuple[str, Mapping[str, str], float, int | None], family: GoFamily = family) -> tuple:
            name, labels, _, _ = sample
            bound = labels.get("le")
            rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            suffix_rank = {"_bucket": 0, "_sum": 1, "_count": 2}.get(name[len(family.name):], 0)
            return rest, suffix_rank, float(bound) if bound is not None else 0.0

        for name, labels, value, timestamp in sorted(family.samples, key=order):
            pairs = ",".join(f'{k}="{escape_label(v)}"' for k, v in sorted(labels.items()))
            text = f"{name}{{{pairs}}} {go_float(value)}" if pairs else f"{name} {go_float(value)}"
            lines.append(text if timestamp is None else f"{text} {timestamp}")
    return ("\n".join(lines) + "\n").encode()


# --- cAdvisor 0.49 ---------------------------------------------------------------------------------------------

@dataclass
class Container:
    """One Docker container as cAdvisor's Docker handler sees it (container/docker/handler.go)."""

    service: str
    image: str
    index: int
    created: float  # Docker's Created: container_start_time_seconds, kept across restarts
    restart_count: int = 0  # Docker's RestartCount: only the restart policy increments it
    generation: int = 0  # a recreated container (docker compose up) has a new id
    cpu: float = 0.0
    memory: float = 0.0
    rx: float = 0.0
    tx: float = 0.0
    rx_errors: float = 0.0
    tx_errors: float = 0.0
    rx_dropped: float = 0.0
    tx_dropped: float = 0.0
    oom_events: float = 0.0
    collected_ms: int = 0  # when housekeeping last collected its stats
    pinned_memory: float | None = None

    @property
    def id(self) -> str:
        # cgroup v2 with the systemd driver: /system.slice/docker-<64 hex container id>.scope
        container_id = hashlib.sha256(f"{self.service}/{self.generation}".encode()).hexdigest()
        return f"/system.slice/docker-{container_id}.scope"

    def docker_labels(self, project: str) -> dict[str, str]:
        labels = {
            "com.docker.compose.project": project,
            "com.docker.compose.service": self.service,
            "com.docker.compose.container-number": "1",
            "com.docker.compose.oneoff": "False",
            "com.docker.compose.version": "2.29.7",
        }
        # handler.go, newDockerContainerHandler: `if ctnr.RestartCount > 0 { handler.labels["restartcount"] = ...}`
        if self.restart_count > 0:
            labels["restartcount"] = str(self.restart_count)
        return labels

    def fresh_cgroup(self) -> None:
        """A new cgroup (any restart): its counters start from zero; cAdvisor reads them from the cgroup."""
        self.cpu = 0.05  # the start itself uses a little CPU; at 0 cAdvisor would emit no cpu series at all
        self.rx = self.tx = self.rx_errors = self.tx_errors = self.rx_dropped = self.tx_dropped = 0.0
        self.oom_events = 0.0


def sanitize(name: str) -> str:
    """metrics/prometheus.go sanitizeLabelName: every character outside [a-zA-Z0-9_] becomes _."""
    return "".join(c if c.isalnum() and c.isascii() or c == "_" else "_" for c in name)


class CadvisorSimulation:
    """cAdvisor 0.49's /metrics for the compose project's containers on a cgroup-v2 Docker host.

    Follows google/cadvisor metrics/prometheus.go (NewPrometheusCollector, collectContainersInfo,
    DefaultContainerLabels) and container/docker/handler.go:
    - labels id, name (the container name without its slash), image, container_label_<sanitised docker label>;
      the union of label names over all containers is written on every series, "" where a container lacks one;
    - stats metrics carry the timestamp of cAdvisor's collection (NewMetricWithTimestamp), spec metrics none;
    - container_cpu_usage_seconds_total has one series with cpu="total" (no per-CPU usage on cgroup v2), and none
      while the usage is 0;
    - a restart by the restart policy: Docker increments RestartCount, cAdvisor creates a new handler that reads
      it as container_label_restartcount: a new set of series, counters from zero, the old series gone;
    - a manual restart: same labels, counters from zero; container_start_time_seconds is the creation time in
      both cases.
    """

    HOUSEKEEPING_SECONDS = 1.0
    PROJECT = "obs-monitoring"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        from catalog import versions as v

        self.clock = clock
        created = clock() - 3 * 86400
        images = {
            "grafana": f"grafana/grafana:{v.GRAFANA_VERSION}", "prometheus": f"prom/prometheus:v{v.PROMETHEUS_VERSION}",
            "alertmanager": f"prom/alertmanager:v{v.ALERTMANAGER_VERSION}", "tempo": f"grafana/tempo:{v.TEMPO_VERSION}",
            # The contrib image is tagged with the contrib release (stack/compose.py's COLLECTOR_IMAGE).
            "otel-collector": f"otel/opentelemetry-collector-contrib:{v.COLLECTOR_CONTRIB_VERSION}",
            "node-exporter": f"prom/node-exporter:v{v.NODE_EXPORTER_VERSION}",
            "cadvisor": f"gcr.io/cadvisor/cadvisor:v{v.CADVISOR_VERSION}",
        }
        self.containers = {service: Container(service, image, index + 1, created + index)
                           for index, (service, image) in enumerate(images.items())}
        self.lock = threading.Lock()
        for container in self.containers.values():
            container.memory = 40e6 + container.index * 23e6
            container.fresh_cgroup()
            container.cpu = 100.0 * container.index
        self.root_cpu = 5000.0
        self.root_rx = self.root_tx = 0.0
        self._collect(clock())

    def name(self, container: Container) -> str:
        return f"{self.PROJECT}-{container.service}-1"

    def tick(self, seconds: float) -> None:
        with self.lock:
            self._collect(self.clock())

    def _collect(self, now: float) -> None:
        for container in self.containers.values():
            if now * 1000 - container.collected_ms < self.HOUSEKEEPING_SECONDS * 1000:
                continue
            elapsed = (now * 1000 - container.collected_ms) / 1000 if container.collected_ms else 1.0
            load = 0.02 + 0.05 * (container.index % 4)
            container.cpu += elapsed * load
            container.rx += elapsed * (2e4 + 3e3 * container.index)
            container.tx += elapsed * (1e4 + 2e3 * container.index)
            if container.pinned_memory is not None:
                container.memory = container.pinned_memory
            else:
                container.memory = 40e6 + container.index * 23e6 + 1e6 * math.sin(now / 30 + container.index)
            container.collected_ms = int(now * 1000)
        self.root_cpu += 0.4 * TICK_SECONDS
        self.root_rx += 5e5 * TICK_SECONDS
        self.root_tx += 3e5 * TICK_SECONDS

    # Truth injection -------------------------------------------------------------------------------------
    def restart(self, service: str, *, policy: bool) -> None:
        """policy=True: the restart policy restarted it (RestartCount + 1); False: `docker restart`."""
        with self.lock:
            container = self._container(service)
            if policy:
                container.restart_count += 1
            container.fresh_cgroup()
            container.collected_ms = 0
            self._collect(self.clock())

    def recreate(self, service: str) -> None:
        """`docker compose up` recreating it: a new container (new id), RestartCount 0, a new creation time."""
        with self.lock:
            container = self._container(service)
            container.generation += 1
            container.restart_count = 0
            container.created = self.clock()
            container.fresh_cgroup()
            container.collected_ms = 0
            self._collect(self.clock())

    def set_memory(self, service: str, value: float | None) -> None:
        with self.lock:
            self._container(service).pinned_memory = value
            self._container(service).collected_ms = 0
            self._collect(self.clock())

    def oom_kill(self, service: str) -> None:
        """The kernel's OOM killer ends a process in the container (the container itself survives)."""
        with self.lock:
            self._container(service).oom_events += 1

    def _container(self, service: str) -> Container:
        if service not in self.containers:
            raise ControlError(f"no container for service {service!r} (services: {', '.join(self.containers)})")
        return self.containers[service]

    # The exposition ----------------------------------------------------------------------------------------
    def families(self) -> list[GoFamily]:
        from catalog import versions as v

        with self.lock:
            docker = {name: {f"container_label_{sanitize(k)}": value for k, value in
                             container.docker_labels(self.PROJECT).items()}
                      for name, container in self.containers.items()}
            union = sorted({key for labels in docker.values() for key in labels})

            def base(container: Container | None) -> dict[str, str]:
                if container is None:  # the root cgroup: no alias, no image, no Docker labels
                    return {"id": "/", "name": "", "image": "", **{key: "" for key in union}}
                own = docker[container.service]
                return {"id": container.id, "name": self.name(container), "image": container.image,
                        **{key: own.get(key, "") for key in union}}

            f = {key: GoFamily(*spec) for key, spec in CADVISOR_FAMILIES.items()}
            for container in self.containers.values():
                labels, ts = base(container), container.collected_ms
                if container.cpu > 0:
                    f["cpu"].add({**labels, "cpu": "total"}, container.cpu, ts)
                f["memory"].add(labels, container.memory, ts)
                for key, value in (("rx", container.rx), ("tx", container.tx), ("rx_errors", container.rx_errors),
                                   ("tx_errors", container.tx_errors), ("rx_dropped", container.rx_dropped),
                                   ("tx_dropped", container.tx_dropped)):
                    f[key].add({**labels, "interface": "eth0"}, value, ts)
                f["oom"].add(labels, container.oom_events, ts)
                f["last_seen"].add(labels, math.floor(self.clock()), int(self.clock() * 1000))
                f["start_time"].add(labels, math.floor(container.created))
                f["memory_limit"].add(labels, 0)  # no limit: cAdvisor writes 0 (specMemoryValue)
            root, ts = base(None), int(self.clock() * 1000)
            f["cpu"].add({**root, "cpu": "total"}, self.root_cpu, ts)
            f["memory"].add(root, 2.1e9, ts)
            f["rx"].add({**root, "interface": "eth0"}, self.root_rx, ts)
            f["tx"].add({**root, "interface": "eth0"}, self.root_tx, ts)
            f["last_seen"].add(root, math.floor(self.clock()), ts)
            f["scrape_error"].add({}, 0)
            f["version"].add({"cadvisorRevision": "8a4e3d3e", "cadvisorVersion": f"v{v.CADVISOR_VERSION}",
                              "dockerVersion": "27.3.1", "kernelVersion": "6.1.0-28-amd64",
                              "osVersion": "Alpine Linux v3.20"}, 1)
            return list(f.values())


# metrics/prometheus.go: name, HELP (exact), type.
CADVISOR_FAMILIES: dict[str, tuple[str, str, str]] = {
    "cpu": ("container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", "counter"),
    "memory": ("container_memory_working_set_bytes", "Current working set in bytes.", "gauge"),
    "rx": ("container_network_receive_bytes_total", "Cumulative count of bytes received", "counter"),
    "tx": ("container_network_transmit_bytes_total", "Cumulative count of bytes transmitted", "counter"),
    "rx_errors": ("container_network_receive_errors_total", "Cumulative count of errors encountered while receiving",
                  "counter"),
    "tx_errors": ("container_network_transmit_errors_total",
                  "Cumulative count of errors encountered while transmitting", "counter"),
    "rx_dropped": ("container_network_receive_packets_dropped_total",
                   "Cumulative count of packets dropped while receiving", "counter"),
    "tx_dropped": ("container_network_transmit_packets_dropped_total",
                   "Cumulative count of packets dropped while transmitting", "counter"),
    "oom": ("container_oom_events_total", "Count of out of memory events observed for the container", "counter"),
    "last_seen": ("container_last_seen", "Last time a container was seen by the exporter", "gauge"),
    "start_time": ("container_start_time_seconds", "Start time of the container since unix epoch in seconds.",
                   "gauge"),
    "memory_limit": ("container_spec_memory_limit_bytes", "Memory limit for the container.", "gauge"),
    "scrape_error": ("container_scrape_error", "1 if there was an error while getting container metrics, 0 otherwise",
                     "gauge"),
    "version": ("cadvisor_version_info", "A metric with a constant '1' value labeled by kernel version, OS version, "
                "docker version, cadvisor version & cadvisor revision.", "gauge"),
}


# --- The OpenTelemetry Collector ----------------------------------------------------------------------------

class CollectorTelemetrySimulation:
    """The Collector's own telemetry on :8888 with the pull reader the compiled config sets, as the pinned 0.165.0
    binary serves it (captured from a running otelcol 0.165.0 with a traces pipeline whose OTLP/gRPC exporter could
    not reach its endpoint, and with one that could): text format 0.0.4 whatever Prometheus asks for, counters
    named without `_total`, no otel_scope_* labels, the resource only on target_info; the exporter's span counters
    carry server_address and server_port, and each appears with the first thing it counts (no failure counter
    while every export succeeds). Names and HELP texts from exporter/exporterhelper/
    documentation.md and receiver/receiverhelper/documentation.md of that release."""

    SPANS_PER_SECOND = 30.0
    EXPORTER = "otlp_grpc/tempo"  # stack/otel_collector.py's Tempo exporter
    DESTINATION = {"server_address": "tempo", "server_port": "4317"}

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        from catalog import versions as v

        self.clock = clock
        # target_info names the distribution the compose file runs, the contrib image at its own release
        self.version = v.COLLECTOR_CONTRIB_VERSION
        self.started_at = clock()
        self.accepted = self.sent = self.failed = 0.0
        self.export_failing = False
        self.lock = threading.Lock()

    def tick(self, seconds: float) -> None:
        with self.lock:
            spans = self.SPANS_PER_SECOND * seconds
            self.accepted += spans
            if self.export_failing:
                self.failed += spans
            else:
                self.sent += spans

    def set_export_failing(self, failing: bool) -> None:
        with self.lock:
            self.export_failing = failing

    def families(self) -> list[GoFamily]:
        with self.lock:
            families = []
            for name, help_text, value in (
                ("otelcol_exporter_sent_spans", "Number of spans successfully sent to destination. [Alpha]",
                 self.sent),
                ("otelcol_exporter_send_failed_spans", "Number of spans in failed attempts to send to destination. At "
                 "detailed telemetry level, includes attributes: error.type (semantic convention), error.permanent. "
                 "[Alpha]", self.failed),
            ):
                if not value:
                    continue  # created with the first span it counts
                family = GoFamily(name, help_text, "counter")
                family.add({"exporter": self.EXPORTER, **self.DESTINATION}, value)
                families.append(family)
            for name, help_text, value in (
                ("otelcol_exporter_queue_size", "Current size of the retry queue (in batches). [Alpha]",
                 3.0 if self.export_failing else 0.0),
                ("otelcol_exporter_queue_capacity", "Fixed capacity of the retry queue (in batches). [Alpha]", 1000.0),
            ):
                family = GoFamily(name, help_text, "gauge")
                family.add({"data_type": "traces", "exporter": self.EXPORTER}, value)
                families.append(family)
            for name, help_text, value in (
                ("otelcol_receiver_accepted_spans", "Number of spans successfully pushed into the pipeline. [Alpha]",
                 self.accepted),
                ("otelcol_receiver_refused_spans", "Number of spans that could not be pushed into the pipeline. "
                 "[Alpha]", 0.0),
            ):
                family = GoFamily(name, help_text, "counter")
                family.add({"receiver": "otlp", "transport": "grpc"}, value)
                families.append(family)
            uptime = GoFamily("otelcol_process_uptime", "Uptime of the process [Alpha]", "counter")
            uptime.add({}, self.clock() - self.started_at)
            target = GoFamily("target_info", "Target metadata", "gauge")
            target.add({"service_instance_id": "8c2b1f0e-2f8e-4c1a-9d55-3b7f0f6a9e21",
                        "service_name": "otelcol-contrib", "service_version": self.version}, 1)
            return [*families, uptime, target]


class CollectorExporterSimulation:
    """The Collector's Prometheus exporter (:8889): the metrics the apps send over OTLP, here the FastAPI and Celery
    instrumentations' HTTP server durations. exporter/prometheusexporter/collector.go getMetricMetadata sets `job`
    from the resource's service.name (and `instance` from service.instance.id, which the Python SDK does not set);
    with resource_to_telemetry_conversion every resource attribute is a label too. Prometheus keeps its own `job`
    for the scrape (honor_labels: false) and renames the app's to exported_job."""

    BUCKETS = (0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000)  # OTel SDK defaults (ms)

    def __init__(self) -> None:
        self.requests = {"api-gateway": 0.0, "celery-worker": 0.0}
        self.lock = threading.Lock()

    def tick(self, seconds: float) -> None:
        with self.lock:
            for service in self.requests:
                self.requests[service] += 3 * seconds

    def families(self) -> list[GoFamily]:
        family = GoFamily("http_server_duration_milliseconds", "Duration of HTTP server requests.", "histogram")
        with self.lock:
            for service, count in self.requests.items():
                labels = {"http_method": "POST", "http_scheme": "http", "http_status_code": "200",
                          "job": service, "service_name": service, "telemetry_sdk_language": "python",
                          "telemetry_sdk_name": "opentelemetry", "telemetry_sdk_version": "1.29.0"}
                total = math.floor(count)
                for bound in self.BUCKETS:
                    share = min(1.0, bound / 250) if bound else 0.0
                    family.add({**labels, "le": go_float(bound)}, math.floor(total * share), suffix="_bucket")
                family.add({**labels, "le": "+Inf"}, total, suffix="_bucket")
                family.add(labels, total * 125.0, suffix="_sum")
                family.add(labels, total, suffix="_count")
        return [family]


class GrafanaSimulation:
    """Grafana's /metrics, the build info (pkg/infra/metrics/metrics.go SetBuildInformation)."""

    def families(self) -> list[GoFamily]:
        from catalog import versions as v

        family = GoFamily("grafana_build_info", "A metric with a constant '1' value labeled by version, revision, "
                          "branch, and goversion from which Grafana was built", "gauge")
        family.add({"branch": "HEAD", "edition": "oss", "goversion": "go1.24.6", "revision": "3f2c8a1b",
                    "version": v.GRAFANA_VERSION}, 1)
        return [family]

    def tick(self, seconds: float) -> None:
        return None


class TempoSimulation:
    """Tempo's /metrics: spans its distributor received (modules/distributor/distributor.go metricSpansIngested),
    one tenant when multitenancy is off, at the rate the Collector exports them."""

    def __init__(self) -> None:
        self.spans = 0.0
        self.lock = threading.Lock()

    def tick(self, seconds: float) -> None:
        with self.lock:
            self.spans += CollectorTelemetrySimulation.SPANS_PER_SECOND * seconds

    def families(self) -> list[GoFamily]:
        family = GoFamily("tempo_distributor_spans_received_total", "The total number of spans received per tenant",
                          "counter")
        with self.lock:
            family.add({"tenant": "single-tenant"}, math.floor(self.spans))
        return [family]


# --- The server ----------------------------------------------------------------------------------------------

Simulation = (WorkerSimulation | CadvisorSimulation | CollectorTelemetrySimulation | CollectorExporterSimulation
              | GrafanaSimulation | TempoSimulation)


class DemoExporter:
    def __init__(self, role: str, *, host: str = "127.0.0.1", port: int = 0, failure_rate: float = 0.005,
                 slow: bool = False, labels: bool = True, buckets: str = "contract", pre_initialise: bool = True,
                 seed: int = 7) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if buckets not in ("contract", "default"):
            raise ValueError("buckets must be 'contract' or 'default'")
        self.role = role
        self.registry = CollectorRegistry()
        self.settings = WorkerSettings(failure_rate=failure_rate, slow=slow)
        self.simulation: Simulation | None = None
        if role in ("worker", "gateway"):
            ProcessCollector(registry=self.registry)  # client_python's default collectors, as the apps have them
        if role == "worker":
            self.simulation = WorkerSimulation(self.registry, self.settings, labels=labels, buckets=buckets,
                                               pre_initialise=pre_initialise)
        elif role == "gateway":
            PlatformMetrics(self.registry, labels=labels, buckets=buckets, pre_initialise=pre_initialise)
        elif role == "cadvisor":
            self.simulation = CadvisorSimulation()
        elif role == "collector-telemetry":
            self.simulation = CollectorTelemetrySimulation()
        elif role == "collector":
            self.simulation = CollectorExporterSimulation()
        elif role == "grafana":
            self.simulation = GrafanaSimulation()
        elif role == "tempo":
            self.simulation = TempoSimulation()
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
        """Tick by the time that passed, not the nominal tick: a loop that runs late (its own work, or other
        threads on a busy machine) would otherwise make every injected rate fall short of its setting on the wall
        clock Prometheus measures (20 evaluations a second came out as 19.75 on an idle machine)."""
        assert self.simulation is not None
        last = time.monotonic()
        while not self._stop.wait(TICK_SECONDS):
            now = time.monotonic()
            self.simulation.tick(now - last)
            last = now

    def exposition(self, accept: str) -> tuple[bytes, str]:
        """The /metrics body and content type for a request's Accept header."""
        if self.role in ("worker", "gateway"):
            # prometheus_client's own handler (exposition.py MetricsHandler): the first acceptable entry wins, so
            # Prometheus (OpenMetrics first) gets OpenMetrics with the exemplars, curl the 0.0.4 text.
            encoder, content_type = choose_encoder(accept)
            return encoder(self.registry), content_type
        assert self.simulation is not None
        return go_text(self.simulation.families()), GO_TEXT

    def control(self, query: Mapping[str, list[str]]) -> dict[str, Any]:
        """Apply a /control request; the role's state after it."""
        def one(name: str) -> str | None:
            return query[name][0] if name in query else None

        def flag(name: str) -> bool | None:
            value = one(name)
            return None if value is None else value in ("1", "true", "yes")

        def number(name: str) -> float | None:
            value = one(name)
            try:
                return None if value is None else float(value)
            except ValueError:
                raise ControlError(f"{name} must be a number, got {value!r}") from None

        simulation = self.simulation
        if isinstance(simulation, WorkerSimulation):
            latency = one("latency")
            self.settings.update(failure_rate=number("failure_rate"), slow=flag("slow"), stalled=flag("stalled"),
                                 evaluations_per_second=number("evaluations_per_second"),
                                 latency=Latency.parse(latency) if latency else None)
            if (batch := number("batch")) is not None:
                simulation.start_batch(int(batch))
            if (completed := number("completed")) is not None:
                simulation.complete_at_once(int(completed))
            return {**self.settings.snapshot(), "in_flight": simulation.in_flight}
        if isinstance(simulation, CadvisorSimulation):
            if service := one("restart"):
                simulation.restart(service, policy=bool(flag("policy")))
            if service := one("recreate"):
                simulation.recreate(service)
            if service := one("oom"):
                simulation.oom_kill(service)
            if memory := one("memory"):
                service, _, value = memory.partition(":")
                try:
                    simulation.set_memory(service, float(value) if value else None)
                except ValueError:
                    raise ControlError(f"memory: expected SERVICE:BYTES, got {memory!r}") from None
            return {name: {"restart_count": c.restart_count, "memory": c.memory, "id": c.id}
                    for name, c in simulation.containers.items()}
        if isinstance(simulation, CollectorTelemetrySimulation):
            if (failing := flag("export_failing")) is not None:
                simulation.set_export_failing(failing)
            return {"export_failing": simulation.export_failing}
        return {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                url = urlparse(self.path)
                if url.path == "/metrics":
                    body, content_type = exporter.exposition(self.headers.get("Accept", ""))
                    self._reply(200, body, content_type)
                elif url.path == "/control":
                    self._reply(200, json.dumps(exporter.control({})).encode(), "application/json")
                else:
                    self._reply(404, b"404 page not found\n", "text/plain; charset=utf-8")

            def do_POST(self) -> None:  # noqa: N802
                url = urlparse(self.path)
                if url.path != "/control":
                    self._reply(404, b"404 page not found\n", "text/plain; charset=utf-8")
                    return
                try:
                    state = exporter.control(parse_qs(url.query))
                except ControlError as error:
                    self._reply(400, json.dumps({"error": str(error)}).encode(), "application/json")
                    return
                self._reply(200, json.dumps(state).encode(), "application/json")

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        return Handler
