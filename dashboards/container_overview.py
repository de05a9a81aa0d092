"""Container Overview: CPU, memory and network per container, and which containers restart."""


from catalog import grafana
from catalog import metrics as m
from catalog import promql as q
from obs.author.dashboard import platform_dashboard
from obs.author.layout import section
from obs.author.panels import AMBER, GREEN, RED, stat, table, target, timeseries
from obs.author.variables import label_values

CONTAINER = ('name=~"$container"', q.NAMED_CONTAINERS)
RESTART_STEPS = [{"color": GREEN, "value": None}, {"color": AMBER, "value": 1}, {"color": RED, "value": 3}]


def restarts(window: str) -> str:
    """cAdvisor has no restart counter: a restart resets the container's CPU counter, so count resets.
    (changes(container_start_time_seconds) would need cAdvisor 0.60 or later.)"""
    return f"sum by (name) (resets({q.selector(m.CONTAINER_CPU, *CONTAINER)}[{window}]))"


running = stat(
    "Containers",
    [target(f"count(sum by (name) ({q.selector(m.CONTAINER_MEMORY, *CONTAINER)}))", instant=True)],
    description="Containers cAdvisor reports now (matching the container filter).",
    unit="none",
    graph=False,
)
cpu_total = stat(
    "CPU in use",
    [target(f"sum({q.rate(m.CONTAINER_CPU, *CONTAINER)})")],
    description="CPU used by the selected containers together; 100% is one full core.",
    unit="percentunit",
)
memory_total = stat(
    "Memory in use",
    [target(f"sum({q.selector(m.CONTAINER_MEMORY, *CONTAINER)})")],
    description="Working-set memory of the selected containers together.",
    unit="bytes",
)
restarts_total = stat(
    "Restarts in range",
    [target(f"sum({restarts('$__range')}) or vector(0)", instant=True)],
    description="Container restarts in the selected time range, counted as CPU-counter resets.",
    unit="none",
    steps=RESTART_STEPS,
    graph=False,
    color_mode="background",
)

cpu = timeseries(
    "CPU usage per container",
    [target(q.sum_rate(m.CONTAINER_CPU, *CONTAINER, by="name"), "{{name}}")],
    description="CPU used by each container; 100% is one full core. A flat line at a round number "
    "often means the container hit its CPU limit.",
    unit="percentunit",
    min_value=0,
)
memory = timeseries(
    "Memory usage per container",
    [target(f"sum by (name) ({q.selector(m.CONTAINER_MEMORY, *CONTAINER)})", "{{name}}")],
    description="Working-set memory of each container: what the OOM killer looks at.",
    unit="bytes",
    min_value=0,
)
network_receive = timeseries(
    "Network received per container",
    [target(q.sum_rate(m.CONTAINER_NETWORK_RECEIVE, *CONTAINER, by="name"), "{{name}}")],
    description="Bytes per second received by each container.",
    unit="Bps",
    min_value=0,
)
network_transmit = timeseries(
    "Network sent per container",
    [target(q.sum_rate(m.CONTAINER_NETWORK_TRANSMIT, *CONTAINER, by="name"), "{{name}}")],
    description="Bytes per second sent by each container.",
    unit="Bps",
    min_value=0,
)
restarts_over_time = timeseries(
    "Container restarts",
    [target(restarts("$__rate_interval"), "{{name}}")],
    description="Restarts per interval for each container (CPU-counter resets). Repeated bars are a crash loop.",
    unit="none",
    min_value=0,
    draw_style="bars",
    legend_calcs=("sum",),
)
restarts_table = table(
    "Restarts by container",
    [target(restarts("$__range"), instant=True)],
    description="Restarts of each container in the selected time range, most first.",
    unit="none",
    transformations=[
        {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {"Value": "restarts"}}},
        {"id": "sortBy", "options": {"sort": [{"field": "restarts", "desc": True}]}},
    ],
)

dashboard = platform_dashboard(
    grafana.CONTAINER_OVERVIEW,
    description="CPU, memory, network I/O and restarts of every container, from cAdvisor.",
    tags=["containers"],
    links_to=[grafana.SYSTEM_OVERVIEW],
    variables=[
        label_values("container", "name", f'{m.CONTAINER_MEMORY}{{{q.NAMED_CONTAINERS}}}', label_text="Container"),
    ],
    sections=[
        section("Summary", [(running, 6), (cpu_total, 6), (memory_total, 6), (restarts_total, 6)], height=4),
        section("CPU and memory", [(cpu, 12), (memory, 12)]),
        section("Network I/O", [(network_receive, 12), (network_transmit, 12)]),
        section("Restarts", [(restarts_over_time, 16), (restarts_table, 8)]),
    ],
)
