"""docker-compose.yml: the whole monitoring stack, every service pinned, every config mounted from monitoring/.

    GRAFANA_ADMIN_PASSWORD=... ALERTMANAGER_SECRETS_DIR=/path/to/secrets docker compose up -d

UIs and APIs are published on the host's loopback only. cAdvisor is the exception: Prometheus scrapes it through
host.docker.internal (the bridge gateway), which a loopback-only port does not reach.
"""

from catalog.grafana import GRAFANA_VERSION
from obs import stack as s
from obs.alerting import PROMETHEUS_CONFIG_MOUNT, PROMETHEUS_FILE, RULES_DIR, RULES_MOUNT
from obs.alertmanager import ALERTMANAGER_FILE
from obs.artifacts import DASHBOARD_DIR
from obs.provisioning import DASHBOARDS_MOUNT

RESTART_ONCE = "no"

grafana = s.Service(
    "grafana",
    image=f"grafana/grafana:{GRAFANA_VERSION}",
    environment={
        "GF_SECURITY_ADMIN_USER": "admin",
        "GF_SECURITY_ADMIN_PASSWORD": s.env("GRAFANA_ADMIN_PASSWORD", "set GRAFANA_ADMIN_PASSWORD"),
        "GF_USERS_ALLOW_SIGN_UP": "false",
        "GF_AUTH_ANONYMOUS_ENABLED": "false",
        "GF_ANALYTICS_REPORTING_ENABLED": "false",
    },
    publish=[s.local(s.GRAFANA.port)],
    mounts=[
        s.repo_path(s.PROVISIONING_DIR, s.GRAFANA_PROVISIONING_PATH),
        s.repo_path(DASHBOARD_DIR, DASHBOARDS_MOUNT),
        s.volume("grafana-data", "/var/lib/grafana"),
    ],
    depends_on={"prometheus": "service_started", "tempo": "service_started", "alertmanager": "service_started"},
)

prometheus = s.Service(
    "prometheus",
    image="prom/prometheus:v2.42.0",  # the promtool the rules are tested with (field-facts: Debian bookworm)
    command=[
        f"--config.file={PROMETHEUS_CONFIG_MOUNT}",
        "--storage.tsdb.path=/prometheus",
        "--storage.tsdb.retention.time=7d",
        "--web.enable-remote-write-receiver",  # Tempo's metrics-generator writes span metrics here
        "--enable-feature=exemplar-storage",  # exemplars link latency panels to their traces
    ],
    publish=[s.local(s.PROMETHEUS.port)],
    mounts=[
        # Where obs/alerting.py writes prometheus.yml's rule_files for: relative to the config, rules/*.yml.
        s.repo_path(PROMETHEUS_FILE, PROMETHEUS_CONFIG_MOUNT),
        s.repo_path(RULES_DIR, RULES_MOUNT),
        s.volume("prometheus-data", "/prometheus"),
    ],
    # The app jobs and cAdvisor are scraped on the host.
    extra_hosts={s.HOST_GATEWAY: "host-gateway"},
)

alertmanager = s.Service(
    "alertmanager",
    image="prom/alertmanager:v0.25.0",  # the amtool the routes are tested with
    command=[
        f"--config.file={s.ALERTMANAGER_CONFIG_PATH}",
        "--storage.path=/alertmanager",
        "--cluster.listen-address=",  # a single instance: no gossip port
    ],
    publish=[s.local(s.ALERTMANAGER.port)],
    mounts=[
        s.repo_path(ALERTMANAGER_FILE, s.ALERTMANAGER_CONFIG_PATH),
        # The receivers' *_file secrets (SMTP password, Slack URL, PagerDuty key) live outside the repository.
        s.env_path("ALERTMANAGER_SECRETS_DIR", s.ALERTMANAGER_SECRETS_PATH,
                   "set ALERTMANAGER_SECRETS_DIR to the folder holding the alertmanager secret files"),
        s.volume("alertmanager-data", "/alertmanager"),
    ],
)

# The Tempo image runs as uid 10001; a fresh named volume is root's. Hand it over once, then exit.
tempo_init = s.Service(
    "tempo-init",
    image=s.TEMPO_IMAGE,
    entrypoint=["chown", "10001:10001", s.TEMPO_DATA_PATH],
    user="root",
    mounts=[s.volume("tempo-data", s.TEMPO_DATA_PATH)],
    restart=RESTART_ONCE,
)

tempo = s.Service(
    "tempo",
    image=s.TEMPO_IMAGE,
    command=[f"-config.file={s.TEMPO_CONFIG_PATH}"],
    publish=[s.local(s.TEMPO_HTTP.port)],
    expose=[s.TEMPO_OTLP_GRPC.port],
    mounts=[
        s.repo_path(s.TEMPO_FILE, s.TEMPO_CONFIG_PATH),
        s.volume("tempo-data", s.TEMPO_DATA_PATH),
    ],
    depends_on={"tempo-init": "service_completed_successfully"},
)

otel_collector = s.Service(
    "otel-collector",
    image=s.COLLECTOR_IMAGE,
    command=[f"--config={s.COLLECTOR_CONFIG_PATH}"],
    # The apps run on the host and send OTLP to localhost:4317/4318.
    publish=[s.local(s.COLLECTOR_OTLP_GRPC.port), s.local(s.COLLECTOR_OTLP_HTTP.port)],
    expose=[s.COLLECTOR_METRICS.port],
    mounts=[s.repo_path(s.COLLECTOR_FILE, s.COLLECTOR_CONFIG_PATH)],
    depends_on={"tempo": "service_started"},
)

node_exporter = s.Service(
    "node-exporter",
    image="prom/node-exporter:v1.8.2",
    command=["--path.rootfs=/host"],
    expose=[s.NODE_EXPORTER.port],
    mounts=[s.host_path("/", "/host", propagation="rslave")],
    pid="host",
)

cadvisor = s.Service(
    "cadvisor",
    image="gcr.io/cadvisor/cadvisor:v0.49.1",
    publish=[s.public(s.CADVISOR.port)],
    mounts=[
        s.host_path("/", "/rootfs"),
        s.host_path("/var/run", "/var/run"),
        s.host_path("/sys", "/sys"),
        s.host_path("/var/lib/docker", "/var/lib/docker"),
        s.host_path("/dev/disk", "/dev/disk"),
    ],
    devices=["/dev/kmsg"],
    privileged=True,
)

config = s.Compose(
    "obs-monitoring",
    [grafana, prometheus, alertmanager, tempo_init, tempo, otel_collector, node_exporter, cadvisor],
)
