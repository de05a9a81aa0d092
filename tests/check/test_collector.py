"""`obs validate` runs the pinned Collector on its compiled config (`otelcol validate`): a broken config gives one
line per complaint, naming the file, the component and the key, in the Collector's own words."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from catalog import network
from catalog import versions as v
from obs.core import paths
from obs.core.serialize import yaml_text

from helpers import pinned_tool, run_obs

FILE = paths.COLLECTOR_FILE


@pytest.fixture(scope="module")
def otelcol() -> str:
    return pinned_tool("otelcol")


def break_config(project: Path, change) -> None:
    target = project / FILE
    document = yaml.safe_load(target.read_text(encoding="utf-8"))
    change(document)
    target.write_text(yaml_text(document, "a test"), encoding="utf-8")


def validate_errors(project: Path) -> list[str]:
    result = run_obs("validate", "--root", str(project))
    assert result.exit_code == 1, result.output
    assert result.stderr.rstrip().endswith("invalid")
    return [line.removeprefix("error: ") for line in result.stderr.splitlines() if line.startswith("error: ")]


def collector_line(errors: list[str]) -> str:
    """The one line of the Collector's; obs's own checks may name other consequences of the same edit."""
    lines = [line for line in errors if "otelcol validate: " in line]
    assert len(lines) == 1, "\n".join(errors)
    return lines[0]


def test_the_compiled_config_is_valid_for_the_pinned_collector(otelcol, repo):
    version = subprocess.run([otelcol, "--version"], capture_output=True, text=True, check=True).stdout
    assert version.strip() == f"otelcol version {v.COLLECTOR_VERSION}"
    result = subprocess.run([otelcol, "validate", f"--config={repo / FILE}"], capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_obs_validate_says_it_checked_with_the_collector(otelcol, project):
    result = run_obs("validate", "--root", str(project))
    assert result.exit_code == 0, result.output
    assert f"otelcol {v.COLLECTOR_VERSION}" in result.stdout.split("checked with ", 1)[1]


def test_a_misspelt_exporter(otelcol, project):
    def misspell(document):
        document["exporters"]["promethues"] = document["exporters"].pop("prometheus")
        document["service"]["pipelines"]["metrics"]["exporters"] = ["promethues"]

    break_config(project, misspell)
    assert collector_line(validate_errors(project)) == (
        f"{FILE}: exporter 'promethues': $.exporters.promethues: otelcol validate: unknown type: \"promethues\" "
        "(valid values: debug otlp otlp_grpc otlp_http otlphttp prometheus)")


def test_a_pipeline_naming_an_undefined_receiver_is_said_once_in_the_collectors_words(otelcol, project):
    break_config(project, lambda d: d["service"]["pipelines"]["traces"]["receivers"].append("jaeger"))
    errors = validate_errors(project)
    # obs's own pipeline check points at the same key: only the Collector's line is kept.
    assert errors == [f"{FILE}: pipeline 'traces': $.service.pipelines.traces.receivers[1]: otelcol validate: "
                      "references receiver \"jaeger\" which is not configured"]


def test_a_batch_limit_below_the_batch_size(otelcol, project):
    break_config(project, lambda d: d["processors"]["batch"].update(send_batch_max_size=5))
    assert validate_errors(project) == [
        f"{FILE}: processor 'batch': $.processors.batch.send_batch_max_size: otelcol validate: "
        "send_batch_max_size must be greater or equal to send_batch_size"]


def test_a_batch_timeout_that_is_not_a_duration_names_the_value(otelcol, project):
    break_config(project, lambda d: d["processors"]["batch"].update(timeout="soon"))
    assert validate_errors(project) == [
        f"{FILE}: processor 'batch': $.processors.batch.timeout: otelcol validate: time: invalid duration 'soon'"]


def test_misspelt_keys_in_two_components_give_a_line_each(otelcol, project):
    def two(document):
        document["processors"]["batch"]["send_batch_sise"] = 10
        document["exporters"]["otlp_grpc/tempo"]["tls"]["insecure"] = "yes_please"

    break_config(project, two)
    assert sorted(validate_errors(project)) == [
        f"{FILE}: exporter 'otlp_grpc/tempo': $.exporters.otlp_grpc/tempo.tls.insecure: otelcol validate: "
        "expected type 'bool', got unconvertible type 'string'",
        f"{FILE}: processor 'batch': $.processors.batch.send_batch_sise: otelcol validate: "
        "'batchprocessor.Config' has invalid keys: send_batch_sise",
    ]


def test_the_telemetry_address_key_of_older_collectors_is_refused(otelcol, project):
    def address(document):
        document["service"]["telemetry"]["metrics"] = {"address": f"0.0.0.0:{network.COLLECTOR_TELEMETRY.port}"}

    break_config(project, address)
    assert collector_line(validate_errors(project)) == (
        f"{FILE}: telemetry: $.service.telemetry.metrics.address: otelcol validate: "
        "'migration.MetricsConfigV030' has invalid keys: address")


def test_a_misspelt_top_level_section(otelcol, project):
    break_config(project, lambda d: d.update(recievers=d.pop("receivers")))
    assert collector_line(validate_errors(project)) == (
        f"{FILE}: collector: $.recievers: otelcol validate: 'otelcol.configSettings' has invalid keys: recievers")
