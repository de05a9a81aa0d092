"""docker-compose.yml: the whole monitoring stack, every service pinned, every config mounted from monitoring/.

    GRAFANA_ADMIN_PASSWORD=... ALERTMANAGER_SECRETS_DIR=/path/to/secrets docker compose up -d

UIs and APIs are published on the host's loopback only. cAdvisor is the exception: Prometheus scrapes it through
host.docker.internal (the bridge gateway), which a loopback-only port does not reach. node-exporter runs on the
host's network (its network I/O is then the host's, not its container's) and listens on the host's port 9100:
keep that port closed to the outside in the host's firewall.
"""

from catalog import network as n
from catalog import thresholds as t
from catalog import versions as v
from obs.author import stack as s

RESTART_ONCE = "no"
TEMPO_IMAGE = f"grafana/tempo:{v.TEMPO_VERSION}"
# The contrib image is tagged with the contrib release it ships, patch releases included (catalog/versions.py
# says why): it runs the very modules of the Collector the tests build (scripts/build_tools.py).
COLLECTOR_IMAGE = f"otel/opentelemetry-collector-contrib:{v.COLLECTOR_CONTRIB_VERSION}"

grafana = s.Service(
    "grafana",
    image=f"grafana/grafana:{v.GRAFANA_VERSION}",
    environment={
        "GF_SECURITY_ADMIN_USER": "admin",
        "GF_SECURITY_ADMIN_PASSWORD": s.env("GRAFANA_ADMIN_PASSWORD", "set GRAFANA_ADMIN_PASSWORD"),
        "GF_USERS_ALLOW_SIGN_UP": "false",
        "GF_AUTH_ANONYMOUS_ENABLED": "false",
        "GF_ANALYTICS_REPORTING_ENABLED": "false",
    },
    publish=[s.local(n.GRAFANA.port)],
    mounts=[
        s.repo_path(s.PROVISIONING_DIR, s.GRAFANA_PROVISIONING_PATH),
        s.repo_path(s.DASHBOARD_DIR, s.DASHBOARDS_MOUNT),
        s.volume("grafana-data", "/var/lib/grafana"),
    ],
    depends_on={"prometheus": "service_started", "tempo": "service_started", "alertmanager": "service_started"},
)

prometheus = s.Service(
    "prometheus",
    image=f"prom/prometheus:v{v.PROMETHEUS_VERSION}",  # the promtool the rules are tested with
    command=[
        f"--config.file={s.PROMETHEUS_CONFIG_MOUNT}",
        "--storage.tsdb.path=/prometheus",
        # The evaluation SLO's error budget is a ratio over its whole period: keep at least that much.
        f"--storage.tsdb.retention.time={t.EVALUATION_SLO.period}",
        "--web.enable-remote-write-receiver",  # Tempo's metrics-generator writes span metrics here
        "--enable-feature=exemplar-storage",  # exemplars link latency panels to their traces
    ],
    publish=[s.local(n.PROMETHEUS.port)],
    mounts=[
        # Where the build writes prometheus.yml's rule_files for: relative to the config, rules/*.yml.
        s.repo_path(s.PROMETHEUS_FILE, s.PROMETHEUS_CONFIG_MOUNT),
        s.repo_path(s.RULES_DIR, s.RULES_MOUNT),
        s.volume("prometheus-data", "/prometheus"),
    ],
    # The app jobs and cAdvisor are scraped on the host.
    extra_hosts={n.HOST_GATEWAY: "host-gateway"},
)

alertmanager = s.Service(
    "alertmanager",
    image=f"prom/alertmanager:v{v.ALERTMANAGER_VERSION}",  # the amtool the routes are tested with
    command=[
        f"--config.file={s.ALERTMANAGER_CONFIG_PATH}",
        "--storage.path=/alertmanager",
        "--cluster.listen-address=",  # a single instance: no gossip port
    ],
    publish=[s.local(n.ALERTMANAGER.port)],
    mounts=[
        s.repo_path(s.ALERTMANAGER_FILE, s.ALERTMANAGER_CONFIG_PATH),
        # The receivers' *_file secrets (SMTP password, Slack URL, PagerDuty key) live outside the repository.
        s.env_path("ALERTMANAGER_SECRETS_DIR", s.ALERTMANAGER_SECRETS_PATH,
                   "set ALERTMANAGER_SECRETS_DIR to the folder holding the alertmanager secret files"),
        s.volume("alertmanager-data", "/alertmanager"),
    ],
)

# The Tempo image runs as uid 10001; a fresh named volume is root's. Hand it over once, then exit.
tempo_init = s.Service(
    "tempo-init",
    image=TEMPO_IMAGE,
    entrypoint=["chown", "10001:10001", s.TEMPO_DATA_PATH],
    user="root",
    mounts=[s.volume("tempo-data", s.TEMPO_DATA_PATH)],
    restart=RESTART_ONCE,
)

tempo = s.Service(
    "tempo",
    image=TEMPO_IMAGE,
    command=[f"-config.file={s.TEMPO_CONFIG_PATH}"],
    publish=[s.local(n.TEMPO_HTTP.port)],
    expose=[n.TEMPO_OTLP_GRPC.port],
    mounts=[
        s.repo_path(s.TEMPO_FILE, s.TEMPO_CONFIG_PATH),
        s.volume("tempo-data", s.TEMPO_DATA_PATH),
    ],
    depends_on={"tempo-init": "service_completed_successfully"},
)

otel_collector = s.Service(
    "otel-collector",
    image=COLLECTOR_IMAGE,
    command=[f"--config={s.COLLECTOR_CONFIG_PATH}"],
    # The apps run on the host and send OTLP to localhost:4317/4318.
    publish=[s.local(n.COLLECTOR_OTLP_GRPC.port), s.local(n.COLLECTOR_OTLP_HTTP.port)],
    expose=[n.COLLECTOR_METRICS.port, n.COLLECTOR_TELEMETRY.port],
    mounts=[s.repo_path(s.COLLECTOR_FILE, s.COLLECTOR_CONFIG_PATH)],
    depends_on={"tempo": "service_started"},
)

node_exporter = s.Service(
    "node-exporter",
    image=f"prom/node-exporter:v{v.NODE_EXPORTER_VERSION}",
    command=["--path.rootfs=/host", f"--web.listen-address=:{n.NODE_EXPORTER.port}"],
    mounts=[s.host_path("/", "/host", propagation="rslave")],
    # node-exporter's README: the host's network and process namespaces, the host's root read-only.
    network_mode="host",
    pid="host",
)

cadvisor = s.Service(
    "cadvisor",
    image=f"gcr.io/cadvisor/cadvisor:v{v.CADVISOR_VERSION}",
    publish=[s.public(n.CADVISOR.port)],
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
