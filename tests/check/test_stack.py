"""The monitoring stack: docker-compose.yml, the Collector and Tempo configs compiled from stack/, their
per-file checks, and the cross-reference check that every host:port one file names is served by the compose file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog import jobs, network
from catalog import versions as v
from catalog.versions import GRAFANA_VERSION
from obs.author.stack import DASHBOARDS_MOUNT
from obs.check import stack_files
from obs.check.files import check_artifact, stack_on_disk
from obs.compile.pipeline import build as build_artifacts
from obs.core import paths
from obs.core.errors import Problem
from obs.core.serialize import yaml_text

from helpers import REPO, run_obs, tree_digest

STACK_FILES = {paths.COMPOSE_FILE, paths.COLLECTOR_FILE, paths.TEMPO_FILE}
SERVICES = {"grafana", "prometheus", "alertmanager", "tempo", "otel-collector", "node-exporter", "cadvisor"}


@pytest.fixture(scope="module")
def built() -> dict[str, Any]:
    """path -> parsed document, for the stack files of a fresh in-memory build."""
    return {a.path: yaml.safe_load(a.text) for a in build_artifacts(REPO) if a.path in STACK_FILES}


@pytest.fixture
def stack_project(project) -> Path:
    """A built copy of the project, to break on purpose."""
    result = run_obs("build", "--root", str(project))
    assert result.exit_code == 0, result.stderr
    return project


def edit(root: Path, path: str, change) -> None:
    """Load a YAML file of the project, let `change` mutate it, write it back."""
    target = root / path
    document = yaml.safe_load(target.read_text(encoding="utf-8"))
    change(document)
    target.write_text(yaml_text(document, "a test"), encoding="utf-8")


def stack_problems(root: Path) -> list[str]:
    compose = check_artifact(paths.COMPOSE_FILE, (root / paths.COMPOSE_FILE).read_text())
    return [str(p) for p in stack_on_disk(root) + compose]


def one_line(problems: list[str], *fragments: str) -> str:
    """The single problem mentioning every fragment; fails listing all problems otherwise."""
    matching = [p for p in problems if all(f in p for f in fragments)]
    assert len(matching) == 1, "\n".join(problems) or "no problems"
    assert "\n" not in matching[0]
    return matching[0]


# --- The build ---------------------------------------------------------------------------------------------------


def test_build_produces_the_stack_files(repo):
    artifacts = {a.path: a for a in build_artifacts(repo)}
    assert set(artifacts) >= STACK_FILES
    assert artifacts[paths.COMPOSE_FILE].source == "stack/compose.py"
    for path in STACK_FILES:
        assert check_artifact(path, artifacts[path].text, artifacts[path].source) == [], path


def test_build_writes_the_stack_files(project):
    for path in STACK_FILES:
        (project / path).unlink()
    result = run_obs("build", "--root", str(project))
    assert result.exit_code == 0, result.stderr
    assert all((project / path).is_file() for path in STACK_FILES)
    assert run_obs("build", "--check", "--root", str(project)).exit_code == 0


def test_the_projects_own_files_pass_every_stack_check(repo):
    assert stack_problems(repo) == []


def test_obs_validate_passes_on_a_built_copy(stack_project):
    result = run_obs("validate", "--root", str(stack_project))
    assert result.exit_code == 0, result.stderr


# --- What the files say ------------------------------------------------------------------------------------------


def test_collector_receives_otlp_on_all_interfaces_batches_and_exports(built):
    collector = built[paths.COLLECTOR_FILE]
    assert collector["receivers"]["otlp"]["protocols"] == {"grpc": {"endpoint": "0.0.0.0:4317"},
                                                           "http": {"endpoint": "0.0.0.0:4318"}}
    assert collector["processors"]["batch"] == {"send_batch_size": 10, "timeout": "100ms"}
    traces = collector["service"]["pipelines"]["traces"]
    assert traces["processors"] == ["memory_limiter", "batch"]
    exporter = collector["exporters"][traces["exporters"][0]]
    assert exporter == {"endpoint": "tempo:4317", "tls": {"insecure": True}}
    metrics = collector["service"]["pipelines"]["metrics"]
    assert collector["exporters"][metrics["exporters"][0]]["endpoint"] == f"0.0.0.0:{network.COLLECTOR_METRICS.port}"


def test_the_collectors_own_telemetry_is_served_on_every_interface(built):
    readers = built[paths.COLLECTOR_FILE]["service"]["telemetry"]["metrics"]["readers"]
    assert readers == [{"pull": {"exporter": {"prometheus": {"host": "0.0.0.0",
                                                             "port": network.COLLECTOR_TELEMETRY.port}}}}]
    assert str(network.COLLECTOR_TELEMETRY.port) in built[paths.COMPOSE_FILE]["services"]["otel-collector"]["expose"]


def test_the_collector_scrape_target_and_its_exporter_share_one_port_constant():
    assert jobs.OTEL_COLLECTOR.endpoint == network.COLLECTOR_METRICS


def test_tempo_keeps_traces_seven_days_on_local_disk_in_the_2x_layout(built):
    tempo = built[paths.TEMPO_FILE]
    assert v.TEMPO_VERSION.startswith("2.")
    assert tempo["compactor"]["compaction"]["block_retention"] == "168h"
    assert "backend_worker" not in tempo
    assert tempo["storage"]["trace"]["backend"] == "local"
    assert tempo["server"]["http_listen_port"] == 3200
    assert tempo["metrics_generator"]["storage"]["remote_write"][0]["url"] == "http://prometheus:9090/api/v1/write"
    assert tempo["overrides"]["defaults"]["metrics_generator"]["processors"] == ["service-graphs", "span-metrics"]


def test_compose_runs_the_pinned_stack(built):
    services = built[paths.COMPOSE_FILE]["services"]
    assert set(services) >= SERVICES
    for name, service in services.items():
        assert re.search(r":[A-Za-z0-9_.-]+$", service["image"]) and not service["image"].endswith(":latest"), name
    assert services["grafana"]["image"] == f"grafana/grafana:{GRAFANA_VERSION}"
    assert services["tempo"]["image"] == f"grafana/tempo:{v.TEMPO_VERSION}"
    assert services["otel-collector"]["image"] == f"otel/opentelemetry-collector-contrib:{v.COLLECTOR_CONTRIB_VERSION}"
    prometheus = services["prometheus"]
    # As long as the evaluation SLO's period: its error budget is a ratio over all of it.
    assert "--storage.tsdb.retention.time=30d" in prometheus["command"]
    assert "--web.enable-remote-write-receiver" in prometheus["command"]
    assert "host.docker.internal:host-gateway" in prometheus["extra_hosts"]
    assert "8080:8080" in services["cadvisor"]["ports"]  # on every interface: scraped via host.docker.internal
    grafana_targets = {m["target"]: m["source"] for m in services["grafana"]["volumes"]}
    assert grafana_targets[DASHBOARDS_MOUNT] == "./monitoring/grafana/dashboards"
    assert grafana_targets["/etc/grafana/provisioning"] == "./monitoring/grafana/provisioning"
    assert set(built[paths.COMPOSE_FILE]["volumes"]) >= {"grafana-data", "prometheus-data", "tempo-data"}


def test_grafana_admin_password_comes_from_the_environment(built):
    environment = built[paths.COMPOSE_FILE]["services"]["grafana"]["environment"]
    assert re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]+\}", environment["GF_SECURITY_ADMIN_PASSWORD"])


def test_compose_file_holds_no_secret_values(repo, built):
    for name, service in built[paths.COMPOSE_FILE]["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if stack_files.SECRET_NAME.search(key):
                assert stack_files.REQUIRED_REFERENCE.match(value), f"{name}.{key}"
    text = (repo / paths.COMPOSE_FILE).read_text(encoding="utf-8")
    assert "admin/admin" not in text and not re.search(r"(?i)password\s*[:=]\s*['\"]?admin\b", text)


# --- Per-file checks ---------------------------------------------------------------------------------------------


def compose_problems(built, change) -> list[str]:
    document = yaml.safe_load(yaml.safe_dump(built[paths.COMPOSE_FILE]))
    change(document)
    return [str(p) for p in check_artifact(paths.COMPOSE_FILE, yaml.safe_dump(document))]


def test_a_literal_password_in_the_compose_file_is_refused(built):
    def literal(d):
        d["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] = "hunter2"

    one_line(compose_problems(built, literal), "docker-compose.yml: service 'grafana'",
             "$.services.grafana.environment.GF_SECURITY_ADMIN_PASSWORD", "from the environment")

    def with_default(d):
        d["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] = "${GRAFANA_ADMIN_PASSWORD:-admin}"

    one_line(compose_problems(built, with_default), "GF_SECURITY_ADMIN_PASSWORD", "no default")


def test_grafana_without_an_admin_password_is_refused(built):
    problems = compose_problems(built, lambda d: d["services"]["grafana"]["environment"].pop(
        "GF_SECURITY_ADMIN_PASSWORD"))
    one_line(problems, "service 'grafana'", "admin/admin")


def test_compose_schema_catches_typos_and_unpinned_images(built):
    def typo(d):
        d["services"]["tempo"]["volume"] = d["services"]["tempo"].pop("volumes")

    one_line(compose_problems(built, typo), "$.services.tempo", "'volume' was unexpected")
    latest = "gcr.io/cadvisor/cadvisor:latest"
    problems = compose_problems(built, lambda d: d["services"]["cadvisor"].update(image=latest))
    one_line(problems, "$.services.cadvisor.image")


def test_compose_images_follow_the_pins_the_configs_are_written_for(built):
    problems = compose_problems(built, lambda d: d["services"]["tempo"].update(image="grafana/tempo:3.0.0"))
    one_line(problems, "service 'tempo'", "$.services.tempo.image", f"written for Tempo {v.TEMPO_VERSION}")


def test_compose_internal_references(built):
    problems = compose_problems(built, lambda d: d["services"]["grafana"]["depends_on"].update(
        loki={"condition": "service_started"}))
    one_line(problems, "service 'grafana'", "depends on 'loki'")


def collector_problems(built, change) -> list[str]:
    document = yaml.safe_load(yaml.safe_dump(built[paths.COLLECTOR_FILE]))
    change(document)
    return [str(p) for p in check_artifact(paths.COLLECTOR_FILE, yaml.safe_dump(document))]


def test_a_pipeline_naming_an_undefined_exporter_is_refused(built):
    problems = collector_problems(built, lambda d: d["service"]["pipelines"]["traces"].update(
        exporters=["otlp_grpc/jaeger"]))
    line = one_line(problems, "pipeline 'traces'", "otlp_grpc/jaeger")
    assert line.startswith(f"{paths.COLLECTOR_FILE}: pipeline 'traces': $.service.pipelines.traces.exporters[0]: ")


def test_memory_limiter_must_come_first(built):
    problems = collector_problems(built, lambda d: d["service"]["pipelines"]["metrics"].update(
        processors=["batch", "memory_limiter"]))
    one_line(problems, "pipeline 'metrics'", "memory_limiter must be the first")


def test_a_receiver_on_localhost_is_unreachable_in_a_container(built):
    problems = collector_problems(built, lambda d: d["receivers"]["otlp"]["protocols"]["grpc"].update(
        endpoint="localhost:4317"))
    one_line(problems, "$.receivers.otlp.protocols.grpc.endpoint", "0.0.0.0")


def test_a_telemetry_reader_on_localhost_is_unreachable_in_a_container(built):
    def local(d):
        d["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]["host"] = "localhost"

    line = one_line(collector_problems(built, local), "0.0.0.0")
    assert line.startswith(f"{paths.COLLECTOR_FILE}: telemetry: "
                           "$.service.telemetry.metrics.readers[0].pull.exporter.prometheus.host: listens on localhost")


def tempo_problems(built, change) -> list[str]:
    document = yaml.safe_load(yaml.safe_dump(built[paths.TEMPO_FILE]))
    change(document)
    return [str(p) for p in check_artifact(paths.TEMPO_FILE, yaml.safe_dump(document))]


def test_a_tempo_3_layout_is_refused_for_the_2x_pin(built):
    def three(d):
        d["backend_worker"] = {"compaction": {"block_retention": "168h"}}
        del d["compactor"]

    line = one_line(tempo_problems(built, three), "backend_worker")
    assert "Tempo 3.x" in line and v.TEMPO_VERSION in line


def test_tempo_retention_must_be_a_go_duration(built):
    problems = tempo_problems(built, lambda d: d["compactor"]["compaction"].update(block_retention="7d"))
    one_line(problems, "$.compactor.compaction.block_retention", "'7d'")


# --- Cross-references (obs validate) -------------------------------------------------------------------------------


def test_a_scrape_target_on_a_service_the_compose_file_lacks(stack_project):
    edit(stack_project, paths.PROMETHEUS_FILE,
         lambda d: d["scrape_configs"][0]["static_configs"][0]["targets"].append("pushgateway:9091"))
    line = one_line(stack_problems(stack_project), "pushgateway:9091")
    assert line.startswith(f"{paths.PROMETHEUS_FILE}: scrape job ")
    assert "no compose service named 'pushgateway'" in line


def test_a_datasource_url_with_the_wrong_port(stack_project):
    def wrong_port(d):
        tempo = next(ds for ds in d["datasources"] if ds["type"] == "tempo")
        tempo["url"] = "http://tempo:3100"

    edit(stack_project, "monitoring/grafana/provisioning/datasources/datasources.yml", wrong_port)
    line = one_line(stack_problems(stack_project), "http://tempo:3100")
    assert line.startswith("monitoring/grafana/provisioning/datasources/datasources.yml: datasource 'Tempo': ")
    assert "does not expose port 3100" in line


def test_a_collector_exporter_pointing_at_a_port_tempo_does_not_serve(stack_project):
    edit(stack_project, paths.COLLECTOR_FILE, lambda d: d["exporters"]["otlp_grpc/tempo"].update(endpoint="tempo:4318"))
    line = one_line(stack_problems(stack_project), "tempo:4318")
    assert line.startswith(f"{paths.COLLECTOR_FILE}: exporter 'otlp_grpc/tempo': "
                           "$.exporters.otlp_grpc/tempo.endpoint: ")


def test_the_collector_exposes_its_telemetry_only_with_a_reader_for_it(stack_project):
    edit(stack_project, paths.COLLECTOR_FILE, lambda d: d["service"].pop("telemetry"))
    one_line(stack_problems(stack_project), "service 'otel-collector'",
             f"exposes port {network.COLLECTOR_TELEMETRY.port}, but otel-collector listens on")


def test_an_exposed_port_the_service_does_not_listen_on(stack_project):
    edit(stack_project, paths.COMPOSE_FILE, lambda d: d["services"]["tempo"]["expose"].append("4318"))
    one_line(stack_problems(stack_project), "service 'tempo'", "exposes port 4318, but tempo listens on")


def test_a_datasource_url_on_a_port_exposed_but_not_listened_on(stack_project):
    edit(stack_project, paths.TEMPO_FILE, lambda d: d["server"].update(http_listen_port=3201))
    problems = stack_problems(stack_project)
    one_line(problems, "http://tempo:3200", "exposes 3200 but listens on")


def test_tempo_remote_write_needs_the_receiver_flag(stack_project):
    edit(stack_project, paths.COMPOSE_FILE,
         lambda d: d["services"]["prometheus"]["command"].remove("--web.enable-remote-write-receiver"))
    line = one_line(stack_problems(stack_project), "http://prometheus:9090/api/v1/write")
    assert line.startswith(f"{paths.TEMPO_FILE}: metrics_generator: ")
    assert "--web.enable-remote-write-receiver" in line


def test_a_mount_of_a_missing_file(stack_project):
    (stack_project / paths.TEMPO_FILE).unlink()
    line = one_line(stack_problems(stack_project), "mounts ./monitoring/tempo-config.yml")
    assert line.startswith("docker-compose.yml: service 'tempo': $.services.tempo.volumes[0].source: ")


def test_a_mount_of_a_host_path_outside_the_allowed_ones(stack_project):
    edit(stack_project, paths.COMPOSE_FILE, lambda d: d["services"]["grafana"]["volumes"].append(
        {"type": "bind", "source": "/home", "target": "/home", "read_only": True}))
    one_line(stack_problems(stack_project), "service 'grafana'", "host path /home")


def test_a_service_reading_a_config_the_build_does_not_write(stack_project):
    def other(d):
        d["services"]["otel-collector"]["volumes"][0]["source"] = "./" + paths.TEMPO_FILE

    edit(stack_project, paths.COMPOSE_FILE, other)
    one_line(stack_problems(stack_project), "service 'otel-collector'", f"writes its config to {paths.COLLECTOR_FILE}")


def test_host_docker_internal_targets_must_be_published_on_the_gateway(stack_project):
    edit(stack_project, paths.COMPOSE_FILE, lambda d: d["services"]["cadvisor"].update(ports=["127.0.0.1:8080:8080"]))
    one_line(stack_problems(stack_project), "host.docker.internal:8080", "127.0.0.1 only")
    edit(stack_project, paths.COMPOSE_FILE, lambda d: d["services"]["cadvisor"].pop("ports"))
    one_line(stack_problems(stack_project), "host.docker.internal:8080", "no compose service publishes port 8080")


def test_host_docker_internal_needs_the_host_gateway_mapping(stack_project):
    edit(stack_project, paths.COMPOSE_FILE, lambda d: d["services"]["prometheus"].pop("extra_hosts"))
    problems = stack_problems(stack_project)
    app_and_cadvisor = {f"host.docker.internal:{port}" for port in {j.port for j in jobs.APP_JOBS} | {8080}}
    for target in app_and_cadvisor:
        one_line(problems, f"{target}: service 'prometheus' does not map host.docker.internal")


def test_rule_files_outside_the_mounted_rules_folder(stack_project):
    edit(stack_project, paths.PROMETHEUS_FILE, lambda d: d.update(rule_files=["/etc/prometheus/alerts/*.yml"]))
    one_line(stack_problems(stack_project), "$.rule_files[0]",
             "not inside any volume mounted into service 'prometheus'")


def test_the_dashboard_provider_path_must_be_the_mounted_dashboards(stack_project):
    edit(stack_project, "monitoring/grafana/provisioning/dashboards/dashboards.yml",
         lambda d: d["providers"][0]["options"].update(path="/dashboards"))
    one_line(stack_problems(stack_project), "$.providers[0].options.path", "/dashboards")


def test_alertmanager_secret_files_must_be_in_a_mounted_folder(stack_project):
    edit(stack_project, "monitoring/alertmanager.yml",
         lambda d: d["global"].update(slack_api_url_file="/run/secrets/slack_webhook_url"))
    line = one_line(stack_problems(stack_project), "/run/secrets/slack_webhook_url")
    assert line.startswith("monitoring/alertmanager.yml: alertmanager: $.global.slack_api_url_file: ")
    assert "not inside any volume mounted into service 'alertmanager'" in line


def test_tempo_storage_must_be_on_a_volume(stack_project):
    edit(stack_project, paths.TEMPO_FILE, lambda d: d["storage"]["trace"]["local"].update(path="/tmp/tempo/blocks"))
    one_line(stack_problems(stack_project), "$.storage.trace.local.path", "lost when the container is re-created")


def test_prometheus_version_told_to_grafana_matches_the_image(stack_project):
    edit(stack_project, paths.COMPOSE_FILE,
         lambda d: d["services"]["prometheus"].update(image="prom/prometheus:v2.55.1"))
    one_line(stack_problems(stack_project), "prometheusVersion", "prom/prometheus:v2.55.1")


def test_obs_validate_reports_cross_reference_problems_one_per_line(stack_project):
    edit(stack_project, paths.PROMETHEUS_FILE,
         lambda d: d["scrape_configs"][0]["static_configs"][0]["targets"].append("pushgateway:9091"))
    result = run_obs("validate", "--root", str(stack_project))
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if "pushgateway" in line]
    assert len(lines) == 1 and lines[0].startswith(f"error: {paths.PROMETHEUS_FILE}: scrape job ")


# --- The build refuses a broken stack and writes nothing ---------------------------------------------------------


def test_build_refuses_content_whose_references_do_not_resolve(stack_project):
    compose = stack_project / "stack" / "compose.py"
    compose.write_text(compose.read_text(encoding="utf-8").replace(
        "expose=[n.TEMPO_OTLP_GRPC.port]", "expose=[]"), encoding="utf-8")
    before = tree_digest(stack_project)
    result = run_obs("build", "--root", str(stack_project))
    assert result.exit_code == 1
    assert "exporter 'otlp_grpc/tempo'" in result.stderr and "does not expose port 4317" in result.stderr
    assert "stack/otel_collector.py -> monitoring/otel-collector-config.yml" in result.stderr
    assert tree_digest(stack_project) == before


def test_build_refuses_a_config_written_for_another_version(stack_project):
    tempo = stack_project / "stack" / "tempo.py"
    tempo.write_text(tempo.read_text(encoding="utf-8").replace(
        'external_labels={"source": "tempo"},', 'external_labels={"source": "tempo"},\n    version="3.0.0",'),
        encoding="utf-8")
    result = run_obs("build", "--root", str(stack_project))
    assert result.exit_code == 1
    assert "stack/tempo.py: tempo: $: written for Tempo 3.0.0" in result.stderr


def test_problems_render_as_one_line():
    problem = Problem("docker-compose.yml", "service 'tempo'", "$.services.tempo.expose", "a\nb")
    assert str(problem) == "docker-compose.yml: service 'tempo': $.services.tempo.expose: a b"
