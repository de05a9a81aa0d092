"""Container Overview: CPU, memory and network per container, which containers restart, and OOM kills.

Written for cAdvisor 0.49 as it exports Docker containers: one series per container incarnation (a restart by the
restart policy starts new series under a new container_label_restartcount), always summed by `name`.
"""


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
    return q.container_restarts(window, CONTAINER[0])


def oom_kills(window: str) -> str:
    """Whole kills: increase() extrapolates to the window's edges (one kill can read 1.2)."""
    return f"round(sum by (name) (increase({q.selector(m.CONTAINER_OOM_EVENTS, *CONTAINER)}[{window}])))"


def per_row(title: str, expr: str, description: str) -> table:
    return table(
        title,
        [target(expr, instant=True)],
        description=description,
        unit="none",
        transformations=[
            {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": {"Value": "count"}}},
            {"id": "sortBy", "options": {"sort": [{"field": "count", "desc": True}]}},
        ],
    )


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
    description="Container restarts in the selected time range: restarts by Docker's restart policy (a new "
    "incarnation of the container's series) and manual ones (its CPU counter starting again).",
    unit="none",
    steps=RESTART_STEPS,
    graph=False,
    color_mode="background",
)
oom_total = stat(
    "OOM kills in range",
    [target(f"sum({oom_kills('$__range')}) or vector(0)", instant=True)],
    description="Processes the kernel's OOM killer ended inside the selected containers in the time range.",
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
    description="Restarts of each container within the trailing rate interval at each point (policy and manual "
    "restarts alike). Repeated bars are a crash loop.",
    unit="none",
    min_value=0,
    draw_style="bars",
    legend_calcs=("max",),
)
oom_over_time = timeseries(
    "OOM kills per container",
    [target(oom_kills("$__rate_interval"), "{{name}}")],
    description="OOM kills of each container within the trailing rate interval. A container killed for memory "
    "usually restarts right after: compare with Container restarts.",
    unit="none",
    min_value=0,
    draw_style="bars",
    legend_calcs=("max",),
)
restarts_table = per_row("Restarts by container", restarts("$__range"),
                         "Restarts of each container in the selected time range, most first.")
oom_table = per_row("OOM kills by container", oom_kills("$__range"),
                    "OOM kills of each container in the selected time range, most first.")

dashboard = platform_dashboard(
    grafana.CONTAINER_OVERVIEW,
    description="CPU, memory, network I/O, restarts and OOM kills of every container, from cAdvisor.",
    tags=["containers"],
    links_to=[grafana.SYSTEM_OVERVIEW],
    variables=[
        label_values("container", "name", f'{m.CONTAINER_MEMORY}{{{q.NAMED_CONTAINERS}}}', label_text="Container"),
    ],
    sections=[
        section("Summary", [(running, 4), (cpu_total, 5), (memory_total, 5), (restarts_total, 5), (oom_total, 5)],
                height=4),
        section("CPU and memory", [(cpu, 12), (memory, 12)]),
        section("Network I/O", [(network_receive, 12), (network_transmit, 12)]),
        section("Restarts and OOM kills", [(restarts_over_time, 16), (restarts_table, 8),
                                           (oom_over_time, 16), (oom_table, 8)]),
    ],
)
