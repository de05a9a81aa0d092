"""Where every compiled file lives, relative to the project root (POSIX separators). The one place for these
names: the build writes there, the checks, the review tools, the deploy and the local stack read there."""

from __future__ import annotations

import posixpath

MONITORING_DIR = "monitoring"
DASHBOARD_DIR = "monitoring/grafana/dashboards"
PROVISIONING_DIR = "monitoring/grafana/provisioning"
DATASOURCES_FILE = f"{PROVISIONING_DIR}/datasources/datasources.yml"
DASHBOARD_PROVIDER_FILE = f"{PROVISIONING_DIR}/dashboards/dashboards.yml"
RULES_DIR = "monitoring/prometheus/rules"
PROMETHEUS_FILE = "monitoring/prometheus.yml"
ALERTMANAGER_FILE = "monitoring/alertmanager.yml"
COLLECTOR_FILE = "monitoring/otel-collector-config.yml"
TEMPO_FILE = "monitoring/tempo-config.yml"
COMPOSE_FILE = "docker-compose.yml"  # at the project root: `docker compose up` from a checkout

# Directories the build owns entirely: a file there that the build does not produce is stale.
GENERATED_DIRS: tuple[tuple[str, str], ...] = ((DASHBOARD_DIR, "*.json"), (RULES_DIR, "*.yml"))

# Project files next to the content that the review and run tools read.
LINT_EXCLUSIONS_FILE = "lint-exclusions.yml"
VERIFY_ALLOW_EMPTY_FILE = "verify-allow-empty.yml"
BACKUP_DIR = ".obs-backups"


def dashboard_file(uid: str) -> str:
    return f"{DASHBOARD_DIR}/{uid}.json"


def rule_file(stem: str) -> str:
    return f"{RULES_DIR}/{stem}.yml"


def is_dashboard_file(path: str) -> bool:
    return posixpath.dirname(path) == DASHBOARD_DIR and path.endswith(".json")


def is_rule_file(path: str) -> bool:
    return posixpath.dirname(path) == RULES_DIR and path.endswith((".yml", ".yaml"))
