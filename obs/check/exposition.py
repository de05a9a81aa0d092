"""A scraped /metrics page against the metrics contract (catalog/metrics.py): what `obs check-metrics` and
`obs verify` report about a running service.

The page is parsed with prometheus_client's own parsers (`prometheus_client.parser` for the text format 0.0.4,
`prometheus_client.openmetrics.parser` for OpenMetrics), so the families are what the client library itself says
they are. Then, for the part of the contract the target's job must meet:

- a metric the job must export and the page lacks (`missing`); one that appears only after its first event is a
  note, not a breach;
- a family whose type is not the contract's (`type`): a counter exported as a gauge loses rate()'s reset handling;
- samples exposed under another name than the contract's (`name`): the parsers name a counter's family the same
  with or without `_total`, but Prometheus stores each sample under the name written on the page, so a counter
  exposed as `x` (text format, no suffix: the Collector's own telemetry) is not found by a query for `x_total`;
- a required label missing, or, on the platform's own metrics, a label the contract does not name (`labels`), or a
  value outside the label's finite set;
- histogram buckets that cannot resolve a threshold read from them (`buckets`): the level must be a bucket boundary
  with a boundary above it;
- labelled children not created at start-up (`children`): a family with no series at all, a value of a finite set
  with no child, a value of an open label (the model) on one family but not on another.

Pure: the page's text in, problems out. The catalog is passed in by the caller.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from catalog.metrics import Metric

OPENMETRICS = "application/openmetrics-text"
# What `obs check-metrics` asks for: the classic text format, which every exporter serves.
ACCEPT = "text/plain;version=0.0.4;q=1.0, */*;q=0.1"
Severity = Literal["error", "note"]
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


@dataclass(frozen=True)
class MetricProblem:
    metric: str
    kind: str  # missing | type | labels | buckets | children | other-job | parse
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.metric}: {self.message}"


@dataclass(frozen=True)
class Family:
    """One metric family as the parser yields it: `samples` are (name, labels, value); `exposed` the sample names
    as the page writes them (what Prometheus stores), where the page's text was read."""

    name: str
    type: str
    samples: tuple[tuple[str, Mapping[str, str], float], ...]
    exposed: frozenset[str] = frozenset()


class ExpositionError(ValueError):
    """The page is not a metrics exposition the client library can parse."""


def parse(text: str, content_type: str = "") -> list[Family]:
    """The families of a /metrics page, by the parser for its content type."""
    if content_type.split(";")[0].strip() == OPENMETRICS:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    else:
        from prometheus_client.parser import text_string_to_metric_families
    written = sample_names(text)
    try:
        return [Family(family.name, family.type,
                       tuple((s.name, dict(s.labels), float(s.value)) for s in family.samples),
                       frozenset(n for n in written if n == family.name or n.startswith(family.name + "_")))
                for family in text_string_to_metric_families(text)]
    except Exception as error:  # the parsers raise ValueError, IndexError, TypeError on malformed input
        first = text.strip().splitlines()[0][:80] if text.strip() else "an empty page"
        raise ExpositionError(f"not a Prometheus exposition ({type(error).__name__}: {error}); it starts with "
                              f"{first!r}") from None


def sample_names(text: str) -> set[str]:
    """The name of every sample line of a page, as written (the parsers rename a counter's samples)."""
    names = set()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.add(line.split("{", 1)[0].split(None, 1)[0])
    return names


def infer_job(families: Sequence[Family], contract: Sequence[Metric]) -> str | None:
    """The job whose always-present metrics the page holds most of (None when it holds none)."""
    present = _present_names(families)
    scores: dict[str, int] = {}
    for metric in contract:
        if metric.always_present and metric.name in present:
            for job in metric.exported_by:
                scores[job.name] = scores.get(job.name, 0) + 1
    if not scores:
        return None
    best = max(scores.values())
    winners = sorted(name for name, score in scores.items() if score == best)
    return winners[0] if len(winners) == 1 else None


def check(families: Sequence[Family], job: str, contract: Sequence[Metric],
          levels: Mapping[str, Sequence[tuple[float, str]]]) -> list[MetricProblem]:
    """Problems of the page of a target of `job`. `contract` is the whole catalog; `levels` maps a histogram's name
    to the (level, what reads it) pairs that must be resolvable from its buckets."""
    by_name = {family.name: family for family in families}
    problems: list[MetricProblem] = []
    own = [metric for metric in contract if job in {j.name for j in metric.exported_by}]
    matched: dict[str, Family] = {}
    for metric in own:
        family = _family(metric, by_name)
        if family is None:
            if metric.always_present:
                problems.append(MetricProblem(metric.name, "missing", f"not exported (the contract says job {job} "
                                              f"exports this {metric.type})"))
            else:
                problems.append(MetricProblem(metric.name, "missing", "not exported yet (it appears once what it "
                                              "counts has happened)", "note"))
            continue
        expected = _parser_type(metric.type)
        if family.type != expected:
            problems.append(MetricProblem(metric.name, "type", f"exported as a {_type_name(family.type)}, the "
                                          f"contract says {metric.type}"))
            continue
        stored = _stored_names(metric)
        if family.exposed and not stored <= family.exposed:
            shown = ", ".join(sorted(family.exposed))
            problems.append(MetricProblem(metric.name, "name", f"exposed as {shown}: Prometheus stores the samples "
                                          f"under that name, so a query for {metric.name} finds nothing"))
            continue
        matched[metric.name] = family
        samples = _own_samples(metric, family)
        problems += _label_problems(metric, samples)
        if metric.type == "histogram":
            problems += _bucket_problems(metric, samples, levels.get(metric.name, ()))
    problems += _children_problems([m for m in own if m.name in matched and m.closed], matched)
    problems += _other_jobs(families, job, contract)
    return sorted(problems, key=lambda p: (p.severity != "error", p.metric, p.kind, p.message))


# --- Matching a contract metric to a parsed family ------------------------------------------------------

def _candidates(metric: Metric) -> list[str]:
    """The parser names a counter's family without `_total` when it is typed counter, with it otherwise."""
    if metric.type == "counter":
        return [metric.name.removesuffix("_total"), metric.name]
    return [metric.name]


def _family(metric: Metric, by_name: Mapping[str, Family]) -> Family | None:
    for name in _candidates(metric):
        family = by_name.get(name)
        if family is not None and (family.type == _parser_type(metric.type) or name == metric.name):
            return family
    for name in _candidates(metric):  # typed something else under the other spelling
        if name in by_name:
            return by_name[name]
    if metric.type == "histogram" and f"{metric.name}_bucket" in by_name:
        return by_name[f"{metric.name}_bucket"]  # untyped _bucket lines: not a histogram
    return None


def _stored_names(metric: Metric) -> set[str]:
    """The sample names Prometheus stores a contract metric's samples under."""
    if metric.type == "histogram":
        return {metric.name + suffix for suffix in SUFFIXES["histogram"]}
    return {metric.name}


def _present_names(families: Iterable[Family]) -> set[str]:
    names: set[str] = set()
    for family in families:
        names.add(family.name)
        if family.type == "counter":
            names.add(f"{family.name}_total")
    return names


def _parser_type(metric_type: str) -> str:
    return metric_type


def _type_name(parsed: str) -> str:
    return "untyped metric" if parsed == "unknown" else parsed


def _own_samples(metric: Metric, family: Family) -> list[tuple[str, Mapping[str, str], float]]:
    names = {metric.name.removesuffix("_total") + suffix if metric.type == "counter" else metric.name + suffix
             for suffix in SUFFIXES[metric.type]}
    return [sample for sample in family.samples if sample[0] in names]


# --- Labels ---------------------------------------------------------------------------------------------

def _label_problems(metric: Metric, samples: Sequence[tuple[str, Mapping[str, str], float]]) -> list[MetricProblem]:
    problems: list[MetricProblem] = []
    known = {label.name for label in metric.labels} | ({"le"} if metric.type == "histogram" else set())
    seen: set[str] = set().union(*(set(labels) for _, labels, _ in samples)) if samples else set()
    for label in metric.labels:
        if label.required and samples and any(label.name not in labels for _, labels, _ in samples):
            problems.append(MetricProblem(metric.name, "labels", f"label {label.name} missing (the contract "
                                          "requires it on every series)"))
        if label.values is not None and label.name in seen:
            outside = sorted({labels[label.name] for _, labels, _ in samples if label.name in labels}
                             - set(label.values))
            if outside:
                problems.append(MetricProblem(metric.name, "labels", f"{label.name} value(s) "
                                              f"{', '.join(map(repr, outside))} outside the contract's set "
                                              f"({', '.join(label.values)})"))
    if metric.closed:
        for name in sorted(seen - known):
            problems.append(MetricProblem(metric.name, "labels", f"unexpected label {name} (the contract names "
                                          f"{', '.join(sorted(known - {'le'})) or 'no labels'}): every extra "
                                          "label multiplies the series and splits each sum"))
    return problems


# --- Buckets --------------------------------------------------------------------------------------------

def _bounds(samples: Sequence[tuple[str, Mapping[str, str], float]]) -> list[float]:
    bounds: set[float] = set()
    for name, labels, _ in samples:
        if name.endswith("_bucket") and "le" in labels:
            try:
                bounds.add(float(labels["le"]))
            except ValueError:
                continue
    return sorted(bound for bound in bounds if math.isfinite(bound))


def _bucket_problems(metric: Metric, samples: Sequence[tuple[str, Mapping[str, str], float]],
                     levels: Sequence[tuple[float, str]]) -> list[MetricProblem]:
    bounds = _bounds(samples)
    if not samples:
        return []  # no child: reported as not pre-initialised
    if not bounds:
        return [MetricProblem(metric.name, "buckets", "no finite bucket: a quantile cannot be computed")]
    problems = []
    shown = ", ".join(f"{b:g}" for b in bounds)
    for level, reader in levels:
        if not any(math.isclose(level, b) for b in bounds):
            problems.append(MetricProblem(metric.name, "buckets", f"cannot resolve {level:g} ({reader}): no bucket "
                                          f"boundary there (buckets: {shown}); use the contract's buckets"))
        elif level >= bounds[-1] or math.isclose(level, bounds[-1]):
            problems.append(MetricProblem(metric.name, "buckets", f"cannot resolve {level:g} ({reader}): it is the "
                                          f"largest finite bucket, so a quantile above it reads as {level:g}"))
    if not problems and tuple(bounds) != tuple(metric.buckets):
        problems.append(MetricProblem(metric.name, "buckets", f"buckets {shown} differ from the contract's "
                                      f"({', '.join(f'{b:g}' for b in metric.buckets)})", "note"))
    return problems


# --- Pre-initialised children -------------------------------------------------------------------------------

def _children_problems(closed: Sequence[Metric], families: Mapping[str, Family]) -> list[MetricProblem]:
    problems: list[MetricProblem] = []
    samples = {metric.name: _own_samples(metric, families[metric.name]) for metric in closed}
    open_values: dict[str, set[str]] = {}
    for metric in closed:
        for label in metric.labels:
            if label.values is None:
                open_values.setdefault(label.name, set()).update(
                    labels[label.name] for _, labels, _ in samples[metric.name] if label.name in labels)
    for metric in closed:
        own = [s for s in samples[metric.name] if not s[0].endswith(("_sum", "_count"))]
        if not own:
            if metric.labels:
                problems.append(MetricProblem(metric.name, "children", "exported with no series: its labelled "
                                              "children are created on first use, so the series is missing, not 0, "
                                              "until then; create each child at start-up"))
            continue
        used = [label for label in metric.labels if any(label.name in labels for _, labels, _ in own)]
        if not used:
            continue
        # Every combination of the values in use: what an app that creates its children at start-up exports.
        value_sets = [sorted(label.values) if label.values is not None else sorted(open_values.get(label.name, ()))
                      for label in used]
        present = {tuple(labels.get(label.name, "") for label in used) for _, labels, _ in own}
        missing = sorted(set(itertools.product(*value_sets)) - present)
        if missing:
            shown = "; ".join(", ".join(f"{label.name}={value}" for label, value in zip(used, combination,
                                                                                        strict=True))
                              for combination in missing[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            problems.append(MetricProblem(metric.name, "children", f"no child for {shown}{more}: not "
                                          "pre-initialised, so those series are missing until their first event"))
    return problems


def _other_jobs(families: Sequence[Family], job: str, contract: Sequence[Metric]) -> list[MetricProblem]:
    present = _present_names(families)
    problems = []
    for metric in contract:
        owners = sorted(j.name for j in metric.exported_by)
        if owners and job not in owners and metric.closed and metric.name in present:
            problems.append(MetricProblem(metric.name, "other-job", f"exported here too, but the contract says "
                                          f"{', '.join(owners)} exports it: dashboards and rules read only that "
                                          "job's copy", "note"))
    return problems


def levels_of(items: Iterable[tuple[Any, float, str]]) -> dict[str, list[tuple[float, str]]]:
    """{histogram name: [(level, what reads it)]} from (histogram metric, level, reader) triples."""
    out: dict[str, list[tuple[float, str]]] = {}
    for metric, level, reader in items:
        out.setdefault(metric.name, []).append((level, reader))
    return out
