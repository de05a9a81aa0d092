"""System Overview: is every service up (the platform, its exporters and the monitoring stack itself), is the host
healthy and saturated, what is firing right now and since when."""


from catalog import grafana, jobs
from catalog import metrics as m
from catalog import promql as q
from catalog import thresholds as t
from obs.author.dashboard import platform_dashboard
from obs.author.layout import section
from obs.author.panels import GREEN, RED, UP_DOWN_MAPPINGS, stat, table, target, timeseries, up_down_steps
from obs.author.variables import label_values

HOST = 'instance=~"$instance"'
# The Watchdog (severity none) always fires: it is a heartbeat, not news.
FIRING = 'ALERTS{alertstate="firing", severity!="none"}'


def service_up(job: jobs.ScrapeJob):
    up = q.selector(m.UP, f'job="{job.name}"')
    return stat(
        job.title,
        [target(f"min({up})", job.name, instant=True)],
        description=(
            f"Whether Prometheus can scrape {job.title} ({job.address}, job `{job.name}`). "
            "DOWN if any of its instances fails; NOT SCRAPED if Prometheus has no such target."
        ),
        unit="none",
        steps=up_down_steps(),
        mappings=UP_DOWN_MAPPINGS,
        graph=False,
        color_mode="background",
    )


def per_minute(metric: m.Metric, by: str) -> str:
    return f"60 * {q.sum_rate(metric, m.owner_matcher(metric), by=by)}"


firing_alerts_count = stat(
    "Alerts firing",
    [target(f"count({FIRING}) or vector(0)", instant=True)],
    description="Prometheus alerts firing now (the Watchdog heartbeat left out); the table at the bottom lists them.",
    unit="none",
    steps=[{"color": GREEN, "value": None}, {"color": RED, "value": 1}],
    graph=False,
    color_mode="background",
)

host_cpu = timeseries(
    "Host CPU usage",
    [target(q.host_cpu_usage(HOST), "{{instance}}")],
    description="Share of CPU time not idle, averaged over all cores. Alerts (HostHighCpuUsage) at the red line.",
    unit="percentunit",
    thresholds=t.HOST_CPU,
    min_value=0,
    max_value=1,
)

host_memory = timeseries(
    "Host memory usage",
    [target(q.host_memory_usage(HOST), "{{instance}}")],
    description="1 - MemAvailable/MemTotal: memory the kernel cannot hand to new work. "
    "Alerts (HostHighMemoryUsage) at the red line.",
    unit="percentunit",
    thresholds=t.HOST_MEMORY,
    min_value=0,
    max_value=1,
)

host_disk = timeseries(
    "Host disk usage",
    [target(q.host_disk_usage(HOST), "{{instance}} {{mountpoint}}")],
    description="Used share of each real filesystem (tmpfs, overlay and other pseudo filesystems left out). "
    "Prometheus and Tempo stop writing when their disk fills.",
    unit="percentunit",
    thresholds=t.HOST_DISK,
    min_value=0,
    max_value=1,
)

host_load = timeseries(
    "Host load per core",
    [target(q.host_load_per_core(HOST), "{{instance}}")],
    description="The 1-minute load average divided by the number of CPUs: above 1, runnable work waits for a CPU "
    "(and processes blocked on disk count too). CPU usage can sit at 100% with load 1; load 4 is saturation.",
    unit="short",
    thresholds=t.HOST_LOAD_PER_CORE,
    min_value=0,
)

host_pressure = timeseries(
    "Host pressure stall",
    [
        target(q.sum_rate(m.NODE_PRESSURE_CPU_WAITING, HOST, by="instance"), "CPU {{instance}}"),
        target(q.sum_rate(m.NODE_PRESSURE_MEMORY_WAITING, HOST, by="instance"), "memory {{instance}}"),
        target(q.sum_rate(m.NODE_PRESSURE_IO_WAITING, HOST, by="instance"), "IO {{instance}}"),
    ],
    description="Share of time some task waited for CPU, memory or IO (the kernel's pressure stall information). "
    "Memory pressure above a few percent means reclaim is slowing work down before any OOM kill.",
    unit="percentunit",
    min_value=0,
)

host_network = timeseries(
    "Host network I/O",
    [
        target(q.sum_rate(m.NODE_NETWORK_RECEIVE, HOST, q.HOST_NETWORK_DEVICES, by="instance"),
               "received {{instance}}"),
        target(q.sum_rate(m.NODE_NETWORK_TRANSMIT, HOST, q.HOST_NETWORK_DEVICES, by="instance"), "sent {{instance}}"),
    ],
    description="Bytes per second through the host's network devices. node-exporter runs on the host's network, so "
    "it sees every device: loopback and Docker's (veth*, docker0, br-*) are left out, or each container's traffic "
    "would count again on its veth and on the bridge.",
    unit="Bps",
    min_value=0,
)

host_network_errors = timeseries(
    "Host network errors and drops",
    [
        target(q.sum_rate(metric, HOST, q.HOST_NETWORK_DEVICES, by="instance"), f"{what} {{{{instance}}}}")
        for metric, what in ((m.NODE_NETWORK_RECEIVE_ERRORS, "receive errors"),
                             (m.NODE_NETWORK_TRANSMIT_ERRORS, "transmit errors"),
                             (m.NODE_NETWORK_RECEIVE_DROPS, "receive drops"),
                             (m.NODE_NETWORK_TRANSMIT_DROPS, "transmit drops"))
    ],
    description="Packets per second the host's network devices (loopback and Docker's veth*, docker0, br-* left "
    "out) failed or dropped. Anything but a flat zero means a bad link, a full ring buffer or a firewall dropping "
    "traffic.",
    unit="pps",
    min_value=0,
)

container_network = timeseries(
    "Container network I/O",
    [
        target(q.sum_rate(m.CONTAINER_NETWORK_RECEIVE, q.NAMED_CONTAINERS, by="name"), "{{name}} received"),
        target(q.sum_rate(m.CONTAINER_NETWORK_TRANSMIT, q.NAMED_CONTAINERS, by="name"), "{{name}} sent"),
    ],
    description="Bytes per second in and out of each container, from cAdvisor.",
    unit="Bps",
    min_value=0,
)

container_cpu = timeseries(
    "Container CPU usage",
    [target(q.sum_rate(m.CONTAINER_CPU, q.NAMED_CONTAINERS, by="name"), "{{name}}")],
    description="CPU used by each container; 100% is one full core. Details on the Container Overview dashboard.",
    unit="percentunit",
    min_value=0,
    links=[{"title": "Container Overview", "url": grafana.CONTAINER_OVERVIEW.path + "?${__url_time_range}"}],
)

container_memory = timeseries(
    "Container memory usage",
    [target(f"sum by (name) ({q.selector(m.CONTAINER_MEMORY, q.NAMED_CONTAINERS)})", "{{name}}")],
    description="Working-set memory of each container: what the kernel counts against a memory limit.",
    unit="bytes",
    min_value=0,
    links=[{"title": "Container Overview", "url": grafana.CONTAINER_OVERVIEW.path + "?${__url_time_range}"}],
)

rule_failures = timeseries(
    "Rule evaluation failures",
    [target(per_minute(m.PROMETHEUS_RULE_EVALUATION_FAILURES, "rule_group"), "{{rule_group}}")],
    description="Rule evaluations that failed per minute, by rule file and group. Any is the "
    "PrometheusRuleEvaluationFailures alert: the alerts of that group are silently off.",
    unit="short",
    min_value=0,
)

notification_failures = timeseries(
    "Notification failures",
    [
        target(per_minute(m.PROMETHEUS_NOTIFICATIONS_ERRORS, "alertmanager"),
               "Prometheus to {{alertmanager}}"),
        target(per_minute(m.ALERTMANAGER_NOTIFICATIONS_FAILED, "integration"),
               "Alertmanager via {{integration}}"),
    ],
    description="Notifications that failed per minute: Prometheus sending to Alertmanager, and Alertmanager "
    "delivering through each integration (email, Slack, webhook).",
    unit="short",
    min_value=0,
)

def failures_or_zero(sent: m.Metric, failed: m.Metric) -> str:
    """Failures per minute by exporter, 0 for an exporter that sends without failing: the Collector creates a
    failure counter at its first failure, the sent one at the first export."""
    return f"({per_minute(failed, 'exporter')} or 0 * {per_minute(sent, 'exporter')})"


collector_export_failures = timeseries(
    "Collector export failures",
    [target(f"{failures_or_zero(m.OTELCOL_EXPORTER_SENT_SPANS, m.OTELCOL_EXPORTER_SEND_FAILED_SPANS)} or "
            f"{failures_or_zero(m.OTELCOL_EXPORTER_SENT_METRIC_POINTS, m.OTELCOL_EXPORTER_SEND_FAILED_METRIC_POINTS)}",
            "{{exporter}}")],
    description="Spans (traces exporter) and metric points (metrics exporter) the OpenTelemetry Collector failed to "
    "export per minute, by exporter: 0 while it exports without failing. Failures on otlp_grpc/tempo are lost "
    "traces. Empty until the Collector's first export.",
    unit="short",
    min_value=0,
)

trace_pipeline = timeseries(
    "Spans through the trace pipeline",
    [
        target(per_minute(m.OTELCOL_RECEIVER_ACCEPTED_SPANS, ""), "accepted by the Collector"),
        target(per_minute(m.TEMPO_SPANS_RECEIVED, ""), "received by Tempo"),
    ],
    description="Spans per minute the Collector accepted from the apps and Tempo received from the Collector. "
    "The two lines should match; a gap is spans lost in between.",
    unit="short",
    min_value=0,
)

firing_alerts = table(
    "Firing alerts",
    [target(f"1000 * (ALERTS_FOR_STATE and ignoring (alertstate) {FIRING})", instant=True)],
    description="Every Prometheus alert firing now, with its labels, and since when its condition holds (the "
    "alert fired its `for` later). Empty is good. Silence or inspect them in Alertmanager.",
    unit="dateTimeFromNow",
    transformations=[
        {
            "id": "organize",
            "options": {
                "excludeByName": {"Time": True, "__name__": True},
                "indexByName": {"alertname": 0, "severity": 1},
                "renameByName": {"Value": "since"},
            },
        },
        {"id": "sortBy", "options": {"sort": [{"field": "since", "desc": False}]}},
    ],
)

PLATFORM_TILES = [(service_up(job), 4) for job in (*jobs.APP_JOBS, *jobs.EXPORTER_JOBS)]
# Five tiles across the 24 columns.
MONITORING_TILES = [(service_up(job), 5 if index < 4 else 4) for index, job in enumerate(jobs.MONITORING_JOBS)]

dashboard = platform_dashboard(
    grafana.SYSTEM_OVERVIEW,
    description="Service health of the platform, its exporters and the monitoring stack, host resources and "
    "saturation, containers, and firing alerts.",
    tags=["overview"],
    links_to=[grafana.EVALUATION_ANALYTICS, grafana.CONTAINER_OVERVIEW],
    variables=[
        label_values("instance", "instance", f'{m.UP}{{job="{jobs.NODE_EXPORTER.name}"}}', label_text="Host"),
    ],
    sections=[
        section("Service health", [*PLATFORM_TILES, (firing_alerts_count, 4)], height=4),
        section("Monitoring stack", MONITORING_TILES, height=4),
        section("Monitoring stack health", [(rule_failures, 6), (notification_failures, 6),
                                            (collector_export_failures, 6), (trace_pipeline, 6)]),
        section("Host resources", [(host_cpu, 8), (host_memory, 8), (host_disk, 8)]),
        section("Host saturation", [(host_load, 12), (host_pressure, 12)]),
        section("Network", [(host_network, 8), (host_network_errors, 8), (container_network, 8)]),
        section("Containers", [(container_cpu, 12), (container_memory, 12)]),
        section("Alerts", [(firing_alerts, 24)]),
    ],
)
