"""What `otelcol validate` says about a config, as the project's one-line problems naming the file and the key.

The Collector (0.165) reports two kinds of error on stderr, after `Error: `, and exits 1:

* a component's or the service's own validation, one line, the place written with `::`:
      service::pipelines::traces: references receiver "jaeger" which is not configured
      processors::batch: send_batch_max_size must be greater or equal to send_batch_size
* decoding errors (mapstructure), a list under a header, each item quoting where it is, nested under the
  component it belongs to:
      failed to get config: cannot unmarshal the configuration: decoding failed due to the following error(s):
      'exporters' unknown type: "promethues" for id: "promethues" (valid values: [otlp_grpc otlp ... prometheus])
      'processors' error reading configuration for "batch": decoding failed due to the following error(s):
      'batchprocessor.Config' has invalid keys: send_batch_sise
      'timeout' time: invalid duration
      'service.telemetry.metrics' decoding failed due to the following error(s):
      'migration.MetricsConfigV030' has invalid keys: address

A quoted place is either a path of keys (`tls.insecure`, `readers[0].pull.exporter.prometheus.port`) or the Go
type being decoded (`batchprocessor.Config`); which one is decided by looking it up in the document. The text
of each reason is the Collector's own (the valid values sorted: the Collector prints them in map order).
"""

from __future__ import annotations

import re
from typing import Any

from obs.core.errors import Problem, json_path

COMMAND = "otelcol validate"
DECODING_HEADER = "decoding failed due to the following error(s):"
VALIDATION = re.compile(r"^(?P<place>[A-Za-z_][\w/.-]*(?:::[^\s:][^\s]*?)+): (?P<reason>.+)$")
REFERENCE = re.compile(r'^references (?P<kind>receiver|processor|exporter|connector|extension) "(?P<id>[^"]+)"')
QUOTED = re.compile(r"^'(?P<place>[^']*)' (?P<rest>.*)$")
COMPONENT_CONTEXT = re.compile(r'^error reading configuration for "(?P<id>[^"]+)": ' + re.escape(DECODING_HEADER) + "$")
UNKNOWN_TYPE = re.compile(r'^unknown type: "(?P<type>[^"]+)" for id: "(?P<id>[^"]+)" '
                          r"\(valid values: \[(?P<valid>[^]]*)\]\)$")
INVALID_KEYS = re.compile(r"^has invalid keys: (?P<keys>.+)$")
IN_ID = re.compile(r'^in "(?P<id>[^"]+)" id: (?P<reason>.+)$')
LEADING_KEY = re.compile(r"^'?(?P<key>[A-Za-z_][\w]*)'? ")
SECTIONS = {"receivers": "receiver", "processors": "processor", "exporters": "exporter", "connectors": "connector",
            "extensions": "extension"}

Path = list[str | int]


def split_place(place: str) -> Path:
    """`readers[0].pull.exporter` -> ['readers', 0, 'pull', 'exporter']."""
    parts: Path = []
    for piece in place.split("."):
        name, *indexes = re.split(r"\[(\d+)\]", piece)
        if name:
            parts.append(name)
        parts += [int(index) for index in indexes if index]
    return parts


def lookup(document: Any, path: Path) -> tuple[bool, Any]:
    node = document
    for part in path:
        in_list = isinstance(part, int) and isinstance(node, list) and 0 <= part < len(node)
        if in_list or (isinstance(part, str) and isinstance(node, dict) and part in node):
            node = node[part]
        else:
            return False, None
    return True, node


def describe(path: Path) -> str:
    """The object a path is in, the way the other stack checks name it."""
    if len(path) >= 2 and path[0] in SECTIONS:
        return f"{SECTIONS[str(path[0])]} {path[1]!r}"
    if len(path) >= 3 and path[:2] == ["service", "pipelines"]:
        return f"pipeline {path[2]!r}"
    if len(path) >= 2 and path[:2] == ["service", "telemetry"]:
        return "telemetry"
    return "service" if path[:1] == ["service"] else "collector"


def problem(file: str, path: Path, reason: str) -> Problem:
    return Problem(file, describe(path), json_path(path), f"{COMMAND}: {reason}")


def validation_problem(place: str, reason: str, document: Any, file: str) -> Problem:
    """`service::pipelines::traces: references receiver "jaeger" ...`: the place, down to the key the reason is
    about when it names one that is there."""
    path: Path = list(place.split("::"))
    reference = REFERENCE.match(reason)
    if reference and path[:2] == ["service", "pipelines"]:
        section = f"{reference.group('kind')}s"
        found, ids = lookup(document, [*path, section])
        path.append(section)
        if found and isinstance(ids, list) and reference.group("id") in ids:
            path.append(ids.index(reference.group("id")))
        return problem(file, path, reason)
    key = LEADING_KEY.match(reason)
    if key and lookup(document, [*path, key.group("key")])[0]:
        path.append(key.group("key"))
    return problem(file, path, reason)


def decoding_problems(items: list[str], document: Any, file: str) -> list[Problem]:
    """The items of a decoding error, each under the component (or section) whose header came before it."""
    problems: list[Problem] = []
    context: Path = []
    for item in items:
        quoted = QUOTED.match(item)
        if quoted is None:
            problems.append(problem(file, context, item))
            continue
        place, rest = quoted.group("place"), quoted.group("rest")
        component = COMPONENT_CONTEXT.match(rest)
        if component:
            context = [place, component.group("id")]
            continue
        if rest == DECODING_HEADER:
            context = split_place(place)
            continue
        unknown = UNKNOWN_TYPE.match(rest)
        if unknown:
            valid = " ".join(sorted(unknown.group("valid").split()))
            problems.append(problem(file, [place, unknown.group("id")],
                                    f'unknown type: "{unknown.group("type")}" (valid values: {valid})'))
            continue
        in_id = IN_ID.match(rest)
        if in_id:
            problems.append(problem(file, [*split_place(place), in_id.group("id")], in_id.group("reason")))
            continue
        relative = split_place(place)
        is_path = bool(place) and lookup(document, [*context, *relative])[0]
        base = [*context, *relative] if is_path else context
        keys = INVALID_KEYS.match(rest)
        if keys:
            for key in (k.strip() for k in keys.group("keys").split(",")):
                # A misspelt key is in the document where it was written: under the component, or at the top.
                where = base if lookup(document, [*base, key])[0] or not lookup(document, [key])[0] else []
                problems.append(problem(file, [*where, key], f"'{place}' has invalid keys: {key}"))
            continue
        reason = rest
        found, value = lookup(document, base)
        if is_path and found and isinstance(value, str | int | float | bool) and "invalid duration" in rest:
            reason = f"{rest} {str(value)!r}"  # Go's time.ParseDuration error, as mapstructure wraps it, drops it
        problems.append(problem(file, base, reason))
    return problems


def validate_output_problems(output: str, document: Any, file: str) -> list[Problem]:
    """One problem per complaint in what a failed `otelcol validate` printed."""
    text = "\n".join(line.strip() for line in output.splitlines() if line.strip())
    text = re.sub(r"^Error: ", "", text, flags=re.M)
    if DECODING_HEADER in text.split("\n", 1)[0]:
        items = [line for line in text.split("\n")[1:] if line]
        problems = decoding_problems(items, document, file)
        if problems:
            return problems
    lines = [line for line in text.split("\n") if line]
    validation = VALIDATION.match(lines[0]) if len(lines) == 1 else None
    if validation:
        return [validation_problem(validation.group("place"), validation.group("reason"), document, file)]
    return [problem(file, [], " ".join(lines) or "failed without saying why")]
