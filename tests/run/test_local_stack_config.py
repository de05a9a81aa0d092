"""The local stack's rewrites of the compiled configs are pure functions: test them without processes."""

from __future__ import annotations

from pathlib import Path

import yaml

from catalog import jobs
from obs.run.local_stack import local_stand_ins, localize_alertmanager, localize_prometheus, scrape_targets


def compiled(repo, name: str) -> dict:
    return yaml.safe_load((repo / name).read_text())


def test_every_scrape_job_has_a_local_stand_in(repo):
    assert {job for job, _ in scrape_targets(compiled(repo, "monitoring/prometheus.yml"))} <= set(local_stand_ins())
    assert {job.name for job in jobs.SCRAPE_JOBS} == set(local_stand_ins())


def test_prometheus_targets_rules_and_alertmanager_are_mapped_to_loopback(repo):
    config = compiled(repo, "monitoring/prometheus.yml")
    addresses = {target: f"127.0.0.1:{10000 + i}" for i, (_, target) in enumerate(scrape_targets(config))}
    local = localize_prometheus(config, addresses, Path("/tmp/rules"), "127.0.0.1:9999", interval="2s")
    assert sorted(t for _, t in scrape_targets(local)) == sorted(addresses.values())
    assert local["rule_files"] == ["/tmp/rules/*.yml"]
    assert local["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["127.0.0.1:9999"]
    assert {job.get("scrape_interval") for job in local["scrape_configs"]} == {"2s"}
    assert config["scrape_configs"][0]["static_configs"][0]["targets"][0] == "host.docker.internal:8007", \
        "the compiled config is not modified in place"


def test_alertmanager_keeps_the_tree_and_drops_every_secret_reference(repo):
    config = compiled(repo, "monitoring/alertmanager.yml")
    local = localize_alertmanager(config, "http://127.0.0.1:5000", group_wait="1s")
    assert [r["name"] for r in local["receivers"]] == [r["name"] for r in config["receivers"]]
    assert all(r["webhook_configs"] == [{"url": f"http://127.0.0.1:5000/{r['name']}", "send_resolved": True}]
               and set(r) == {"name", "webhook_configs"} for r in local["receivers"])
    assert local["inhibit_rules"] == config["inhibit_rules"]
    assert "_file" not in yaml.safe_dump(local)
    assert local["route"]["group_wait"] == "1s"


def test_the_collector_listens_on_loopback_and_sends_traces_where_it_is_told(repo):
    from catalog import network
    from obs.run.local_stack import collector_ports, localize_collector

    config = compiled(repo, "monitoring/otel-collector-config.yml")
    container_ports = collector_ports(config)
    assert container_ports == sorted({network.COLLECTOR_OTLP_GRPC.port, network.COLLECTOR_OTLP_HTTP.port,
                                      network.COLLECTOR_METRICS.port, network.COLLECTOR_TELEMETRY.port})
    ports = {port: 20000 + port for port in container_ports}
    local = localize_collector(config, ports, "127.0.0.1:5317")
    grpc = local["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert grpc == f"127.0.0.1:{20000 + network.COLLECTOR_OTLP_GRPC.port}"
    assert local["exporters"]["prometheus"]["endpoint"] == f"127.0.0.1:{20000 + network.COLLECTOR_METRICS.port}"
    [reader] = local["service"]["telemetry"]["metrics"]["readers"]
    assert reader["pull"]["exporter"]["prometheus"] == {"host": "127.0.0.1",
                                                        "port": 20000 + network.COLLECTOR_TELEMETRY.port}
    [tempo] = [eid for eid in local["exporters"] if eid.startswith("otlp_grpc/")]
    assert local["exporters"][tempo] == {**config["exporters"][tempo], "endpoint": "127.0.0.1:5317"}
    # What the Collector does with the data is as compiled.
    assert local["processors"] == config["processors"]
    assert local["service"]["pipelines"] == config["service"]["pipelines"]
    assert config["exporters"][tempo]["endpoint"] == str(network.TEMPO_OTLP_GRPC), "the compiled config is untouched"


def test_every_job_scraping_the_collector_is_served_by_it():
    from catalog import network

    assert {name for name, stand_in in local_stand_ins().items() if stand_in == "otelcol"} == {
        job.name for job in jobs.SCRAPE_JOBS if job.host == network.COLLECTOR_METRICS.host}
    assert local_stand_ins()[jobs.OTEL_COLLECTOR.name] == "otelcol"
