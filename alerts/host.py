"""Host alerts: the machine the platform runs on, from node-exporter."""

from alerts._common import INSTANCE, MOUNTPOINT, PERCENT, RUNBOOKS
from catalog import grafana
from catalog import promql as q
from catalog import thresholds as t
from obs.author.rules import AlertRule, PanelLink, RuleGroup

SYSTEM = grafana.SYSTEM_OVERVIEW

groups = [
    RuleGroup(
        "host",
        labels={"component": "host"},
        runbooks=RUNBOOKS,
        rules=[
            # Spec: CPU > 90% for 5 minutes, warning.
            AlertRule(
                "HostHighCpuUsage",
                expr=t.HOST_CPU.breached(q.INSTANCE_CPU_UTILISATION),
                for_=t.HOST_CPU.for_,
                severity=t.HOST_CPU.severity,
                summary=f"CPU usage above {t.HOST_CPU.value:.0%} on {INSTANCE}",
                description=f"The CPUs of {INSTANCE} are {PERCENT} busy, averaged over all cores and the last "
                f"{q.RULE_WINDOW} (alerts above {t.HOST_CPU.value:.0%} for {t.HOST_CPU.for_}).",
                panel=PanelLink(SYSTEM, "Host CPU usage", variables=("instance",)),
            ),
            # Spec: memory > 90% for 5 minutes, warning.
            AlertRule(
                "HostHighMemoryUsage",
                expr=t.HOST_MEMORY.breached(q.INSTANCE_MEMORY_UTILISATION),
                for_=t.HOST_MEMORY.for_,
                severity=t.HOST_MEMORY.severity,
                summary=f"Memory usage above {t.HOST_MEMORY.value:.0%} on {INSTANCE}",
                description=f"{PERCENT} of the memory of {INSTANCE} is in use (1 - MemAvailable/MemTotal; alerts "
                f"above {t.HOST_MEMORY.value:.0%} for {t.HOST_MEMORY.for_}). Next comes the OOM killer.",
                panel=PanelLink(SYSTEM, "Host memory usage", variables=("instance",)),
            ),
            # A full disk stops Prometheus and Tempo writing: their data, and these alerts, go with it.
            AlertRule(
                "HostHighDiskUsage",
                expr=t.HOST_DISK.breached(q.host_disk_usage()),
                for_=t.HOST_DISK.for_,
                severity=t.HOST_DISK.severity,
                summary=f"Disk {MOUNTPOINT} on {INSTANCE} above {t.HOST_DISK.value:.0%} full",
                description=f"{MOUNTPOINT} on {INSTANCE} is {PERCENT} full (alerts above "
                f"{t.HOST_DISK.value:.0%} for {t.HOST_DISK.for_}).",
                panel=PanelLink(SYSTEM, "Host disk usage", variables=("instance",)),
            ),
        ],
    ),
]
