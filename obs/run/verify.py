"""`obs verify`: prove against a real Prometheus that what the package ships works.

- Every panel query of every compiled dashboard, with template variables filled from real label values,
  runs over a recent range: ok, empty (no data) or error (Prometheus's message).
- Every rule group of monitoring/prometheus/rules is loaded and every rule evaluates without error.
- Every scrape target is up, and its /metrics meets the metrics contract (obs check-metrics) where this machine
  can reach it.

Panels that are legitimately empty (firing alerts on a healthy system) are listed, each with a reason, in
`verify-allow-empty.yml` or with `--allow-empty`.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from obs.check.promql import LABEL_VALUES, substitute
from obs.core.documents import panels_with_paths
from obs.core.paths import DASHBOARD_DIR, RULES_DIR, VERIFY_ALLOW_EMPTY_FILE
from obs.core.serialize import load_yaml

ALLOW_EMPTY_FILE = VERIFY_ALLOW_EMPTY_FILE


class PrometheusError(Exception):
    pass


class Prometheus:
    """The few endpoints of Prometheus's HTTP API that verify needs."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def get(self, path: str, **params: Any) -> Any:
        query = urllib.parse.urlencode([(k, v) for k, values in params.items()
                                        for v in (values if isinstance(values, list) else [values])])
        url = f"{self.url}{path}" + (f"?{query}" if query else "")
        content_type = ""
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                raw, content_type = response.read(), response.headers.get("Content-Type", "")
            body = json.loads(raw)
        except urllib.error.HTTPError as error:
            try:
                body = json.loads(error.read())
            except ValueError:
                raise PrometheusError(f"{path}: HTTP {error.code}") from None
        except ValueError:
            raise PrometheusError(f"{self.url} is not a Prometheus: GET {path} answered "
                                  f"{content_type or 'something'} that is not JSON") from None
        except (urllib.error.URLError, OSError) as error:
            raise PrometheusError(f"cannot reach Prometheus at {self.url}: {getattr(error, 'reason', error)}") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            message = body.get("error") if isinstance(body, dict) else None
            raise PrometheusError(message or f"{path}: {str(body)[:200]}")
        return body["data"]

    def identify(self) -> str:
        """Prometheus's version; a one-line error naming the URL when it is not a Prometheus at all."""
        path = "/api/v1/status/buildinfo"
        hint = "(give Prometheus's own URL: its HTTP API is under /api/v1/)"
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=self.timeout) as response:
                raw, content_type = response.read(), response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            raise PrometheusError(f"{self.url} is not a Prometheus: GET {path} answered {error.code} {hint}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise PrometheusError(f"cannot reach Prometheus at {self.url}: {getattr(error, 'reason', error)}") from None
        try:
            body = json.loads(raw)
            version = body["data"]["version"]
        except (ValueError, KeyError, TypeError):
            raise PrometheusError(f"{self.url} is not a Prometheus: GET {path} answered {content_type or 'a body'} "
                                  f"without Prometheus's build info {hint}") from None
        return str(version)

    def label_values(self, label: str, match: str | None) -> list[str]:
        params: dict[str, Any] = {"start": time.time() - 3600, "end": time.time()}
        if match:
            params["match[]"] = [match]
        return sorted(self.get(f"/api/v1/label/{urllib.parse.quote(label)}/values", **params))


@dataclass
class TargetResult:
    ref_id: str
    expr: str
    status: str  # ok | empty | error
    series: int = 0
    error: str = ""


@dataclass
class PanelResult:
    dashboard: str
    panel: str
    panel_id: int
    status: str  # ok | empty | error | allowed-empty | skipped
    targets: list[TargetResult] = field(default_factory=list)
    note: str = ""


@dataclass
class RuleResult:
    group: str
    rule: str
    health: str
    error: str = ""


@dataclass
class MetricsResult:
    """check-metrics on one target: `status` ok | breach | unreachable (this machine cannot scrape it: not a
    failure, Prometheus may still reach it) | error (the page is not an exposition)."""

    job: str
    url: str
    status: str
    problems: list[str] = field(default_factory=list)  # "error: ..." and "note: ..." lines
    detail: str = ""


@dataclass
class Report:
    panels: list[PanelResult]
    rules: list[RuleResult]
    missing_groups: list[str]
    targets: list[dict[str, str]]
    metrics: list[MetricsResult] = field(default_factory=list)
    prometheus_version: str = ""

    @property
    def failed(self) -> bool:
        return (any(p.status in ("empty", "error") for p in self.panels)
                or any(r.health != "ok" for r in self.rules) or bool(self.missing_groups)
                or any(t["health"] != "up" for t in self.targets)
                or any(m.status in ("breach", "error") for m in self.metrics))

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "ok": not self.failed}, indent=2, sort_keys=True)


def load_allow_empty(root: Path, extra: list[str]) -> dict[tuple[str, str], str]:
    """(dashboard uid, panel title) -> reason. `extra` entries are 'uid/Panel title=reason'."""
    allowed: dict[tuple[str, str], str] = {}
    path = root / ALLOW_EMPTY_FILE
    if path.is_file():
        entries = (load_yaml(path.read_text(encoding="utf-8")) or {}).get("allow_empty") or []
        for index, entry in enumerate(entries):
            if not str(entry.get("reason") or "").strip():
                raise ValueError(f"{ALLOW_EMPTY_FILE}: allow_empty[{index}].reason: every entry needs a reason")
            allowed[(entry["dashboard"], entry["panel"])] = entry["reason"]
    for item in extra:
        key, _, reason = item.partition("=")
        uid, _, title = key.partition("/")
        if not (uid and title and reason.strip()):
            raise ValueError(f"--allow-empty {item!r}: expected 'dashboard-uid/Panel title=reason'")
        allowed[(uid, title)] = reason
    return allowed


REGEX_SPECIAL = re.compile(r"([\\^$*+?.()|{}\[\]])")


def promql_regex_escape(value: str) -> str:
    r"""Escape a label value for a regex inside a PromQL double-quoted string, as Grafana does for a
    multi-value variable: the regex needs `\.` and the string literal needs that backslash doubled."""
    return REGEX_SPECIAL.sub(r"\\\\\1", value)


def variable_values(prometheus: Prometheus, document: dict[str, Any]) -> dict[str, str]:
    """Fill each variable the way Grafana would with "All" selected: its allValue when it has one (Grafana then
    interpolates that, `.*`, not the list), else the real label values joined as a regex."""
    values: dict[str, str] = {}
    for variable in (document.get("templating") or {}).get("list") or []:
        name, kind = variable["name"], variable.get("type")
        if kind == "query":
            if variable.get("includeAll") and variable.get("allValue"):
                values[name] = str(variable["allValue"])
                continue
            query = variable.get("query")
            text = query.get("query", "") if isinstance(query, dict) else str(query or "")
            match = LABEL_VALUES.match(substitute(text, values))
            found = prometheus.label_values(match.group("label"), match.group("selector")) if match else []
            values[name] = "|".join(promql_regex_escape(v) for v in found) if found else "__no_values__"
        elif kind in ("textbox", "constant", "custom"):
            values[name] = str(variable.get("query") or "").split(",")[0].strip()
    return values


def run_panel(prometheus: Prometheus, document: dict[str, Any], panel: dict[str, Any], values: dict[str, str],
              window: float, step: float, rate_interval: str) -> list[TargetResult]:
    builtins = {"__rate_interval": rate_interval, "__interval": f"{int(step)}s",
                "__range": f"{int(window)}s", "__range_s": str(int(window)), "__range_ms": str(int(window * 1000))}
    results = []
    now = time.time()
    for target in panel.get("targets") or []:
        if "expr" not in target or target.get("hide"):
            continue
        expr = substitute(target["expr"], {**values, **builtins})
        try:
            if target.get("instant"):
                data = prometheus.get("/api/v1/query", query=expr, time=now)
            else:
                data = prometheus.get("/api/v1/query_range", query=expr, start=now - window, end=now, step=step)
        except PrometheusError as error:
            results.append(TargetResult(target.get("refId", ""), expr, "error", error=str(error)))
            continue
        series = data.get("result") or []
        status = "ok" if series else "empty"
        results.append(TargetResult(target.get("refId", ""), expr, status, series=len(series)))
    return results


def verify_dashboards(prometheus: Prometheus, root: Path, allowed: dict[tuple[str, str], str], *,
                      window: float, step: float, rate_interval: str) -> list[PanelResult]:
    out: list[PanelResult] = []
    for path in sorted((root / DASHBOARD_DIR).glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        uid = document.get("uid", path.stem)
        values = variable_values(prometheus, document)
        for panel, _ in panels_with_paths(document):
            if panel.get("type") == "row":
                continue
            title = panel.get("title", "")
            if not any("expr" in t for t in panel.get("targets") or []):
                kind = (panel.get("datasource") or {}).get("type", panel.get("type"))
                out.append(PanelResult(uid, title, panel.get("id", 0), "skipped",
                                       note=f"not a Prometheus panel ({kind})"))
                continue
            targets = run_panel(prometheus, document, panel, values, window, step, rate_interval)
            if any(t.status == "error" for t in targets):
                status = "error"
            elif any(t.status == "empty" for t in targets):
                status = "allowed-empty" if (uid, title) in allowed else "empty"
            else:
                status = "ok"
            out.append(PanelResult(uid, title, panel.get("id", 0), status, targets,
                                   note=allowed.get((uid, title), "") if status == "allowed-empty" else ""))
    return out


def expected_groups(root: Path) -> list[str]:
    groups = []
    for path in sorted((root / RULES_DIR).glob("*.yml")):
        document = load_yaml(path.read_text(encoding="utf-8")) or {}
        groups += [group["name"] for group in document.get("groups") or []]
    return groups


def verify_rules(prometheus: Prometheus, root: Path) -> tuple[list[RuleResult], list[str]]:
    loaded = prometheus.get("/api/v1/rules").get("groups") or []
    results = [RuleResult(group["name"], rule.get("name", ""), rule.get("health", "unknown"), rule.get("lastError", ""))
               for group in loaded for rule in group.get("rules") or []]
    missing = sorted(set(expected_groups(root)) - {group["name"] for group in loaded})
    return results, missing


def verify_targets(prometheus: Prometheus) -> list[dict[str, str]]:
    active = prometheus.get("/api/v1/targets", state="active").get("activeTargets") or []
    return sorted(({"job": t["labels"].get("job", ""), "instance": t["labels"].get("instance", ""),
                    "health": t.get("health", ""), "error": t.get("lastError", ""), "url": t.get("scrapeUrl", "")}
                   for t in active),
                  key=lambda t: (t["job"], t["instance"]))


def verify_metrics(targets: list[dict[str, str]], timeout: float = 5.0) -> list[MetricsResult]:
    """check-metrics on every target Prometheus scrapes, with the job Prometheus gives it."""
    from obs.run.check_metrics import check_target

    out = []
    for target in targets:
        if not target.get("url"):
            continue
        result = check_target(target["url"], target["job"], timeout)
        if result.error:
            status = "unreachable" if result.error.startswith("cannot reach") else "error"
            out.append(MetricsResult(target["job"], target["url"], status, detail=result.error))
            continue
        lines = [f"{p.severity if p.severity == 'error' else 'note'}: {p}" for p in result.problems]
        out.append(MetricsResult(target["job"], target["url"], "breach" if result.failed else "ok", lines,
                                 f"{result.checked} contract metrics"))
    return out


def verify(prometheus: Prometheus, root: Path, allowed: dict[tuple[str, str], str], *, window: float = 300,
           step: float = 15, rate_interval: str = "1m", check_metrics: bool = True) -> Report:
    version = prometheus.identify()
    panels = verify_dashboards(prometheus, root, allowed, window=window, step=step, rate_interval=rate_interval)
    rules, missing = verify_rules(prometheus, root)
    targets = verify_targets(prometheus)
    metrics = verify_metrics(targets) if check_metrics else []
    return Report(panels, rules, missing, targets, metrics, version)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def format_table(report: Report) -> str:
    lines = []
    width = max((len(p.dashboard) + len(p.panel) for p in report.panels), default=20) + 3
    lines.append(f"{'PANEL':<{width}} STATUS          DETAIL")
    for panel in report.panels:
        detail = panel.note
        if panel.status in ("empty", "error"):
            bad = [t for t in panel.targets if t.status != "ok"]
            detail = "; ".join(f"{t.ref_id}: {t.error or 'no data'}" for t in bad)
        elif panel.status == "ok":
            detail = f"{sum(t.series for t in panel.targets)} series"
        lines.append(f"{panel.dashboard + ' / ' + panel.panel:<{width}} {panel.status:<15} {detail}")
    bad_rules = [r for r in report.rules if r.health != "ok"]
    lines.append("")
    lines.append(f"rules: {len(report.rules) - len(bad_rules)}/{len(report.rules)} healthy"
                 + (f", groups not loaded: {', '.join(report.missing_groups)}" if report.missing_groups else ""))
    lines += [f"  {r.group} / {r.rule}: {r.health} {r.error}".rstrip() for r in bad_rules]
    down = [t for t in report.targets if t["health"] != "up"]
    lines.append(f"targets: {len(report.targets) - len(down)}/{len(report.targets)} up")
    lines += [f"  {t['job']} {t['instance']}: {t['health']} {t['error']}".rstrip() for t in down]
    if report.metrics:
        meeting = sum(m.status == "ok" for m in report.metrics)
        # Unreachable from here is not a failure (Prometheus may reach what this machine cannot: the compose
        # network's hostnames), but it is not a pass either: the contract was not checked on it.
        unchecked = sum(m.status == "unreachable" for m in report.metrics)
        lines.append(f"metrics contract: {meeting}/{len(report.metrics)} targets meet it"
                     + (f", {unchecked} not checked (unreachable from this machine)" if unchecked else ""))
        for result in report.metrics:
            if result.status == "unreachable":
                lines.append(f"  {result.job} {result.url}: not checked, {result.detail}")
            elif result.status != "ok":
                lines.append(f"  {result.job} {result.url}: {result.status} {result.detail}".rstrip())
            lines += [f"    {line}" for line in result.problems if line.startswith("error:")]
    counts: dict[str, int] = {}
    for panel in report.panels:
        counts[panel.status] = counts.get(panel.status, 0) + 1
    lines.append("panels: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return "\n".join(lines)
