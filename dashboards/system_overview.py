"""System Overview: is every service up, is the host healthy, what is firing right now."""


from catalog import grafana, jobs
from catalog import metrics as m
from catalog import promql as q
from catalog import thresholds as t
from obs.author.dashboard import platform_dashboard
from obs.author.layout import section
from obs.author.panels import RED, UP_DOWN_MAPPINGS, stat, table, target, timeseries, up_down_steps
from obs.author.variables import label_values

HOST = 'instance=~"$instance"'


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


firing_alerts_count = stat(
    "Firing alerts",
    [target('count(ALERTS{alertstate="firing"}) or vector(0)', instant=True)],
    description="Prometheus alerts firing now; the table at the bottom lists them.",
    unit="none",
    steps=[{"color": "green", "value": None}, {"color": RED, "value": 1}],
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

host_network = timeseries(
    "Host network I/O",
    [
        target(q.sum_rate(m.NODE_NETWORK_RECEIVE, HOST, 'device!="lo"', by="instance"), "received {{instance}}"),
        target(q.sum_rate(m.NODE_NETWORK_TRANSMIT, HOST, 'device!="lo"', by="instance"), "sent {{instance}}"),
    ],
    description="Bytes per second through the host's network devices (loopback excluded).",
    unit="Bps",
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

firing_alerts = table(
    "Firing alerts",
    [target('ALERTS{alertstate="firing"}', instant=True)],
    description="Every Prometheus alert firing now, with its labels. Empty is good. "
    "Silence or inspect them in Alertmanager.",
    unit="none",
    transformations=[
        {
            "id": "organize",
            "options": {
                "excludeByName": {"Time": True, "Value": True, "__name__": True, "alertstate": True},
                "indexByName": {"alertname": 0, "severity": 1},
            },
        }
    ],
)

dashboard = platform_dashboard(
    grafana.SYSTEM_OVERVIEW,
    description="Service health, host resources, containers and firing alerts of the evaluation platform.",
    tags=["overview"],
    links_to=[grafana.EVALUATION_ANALYTICS, grafana.CONTAINER_OVERVIEW],
    variables=[
        label_values("instance", "instance", f'{m.UP}{{job="{jobs.NODE_EXPORTER.name}"}}', label_text="Host"),
    ],
    sections=[
        section(
            "Service health",
            [(service_up(job), 4) for job in jobs.SCRAPE_JOBS] + [(firing_alerts_count, 4)],
            height=4,
        ),
        section("Host resources", [(host_cpu, 8), (host_memory, 8), (host_disk, 8)]),
        section("Network", [(host_network, 12), (container_network, 12)]),
        section("Containers", [(container_cpu, 12), (container_memory, 12)]),
        section("Alerts", [(firing_alerts, 24)]),
    ],
)
