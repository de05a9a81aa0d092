"""The stack stage: stack/*.py (each defines `config`, a Compose, Collector or Tempo) compiled to the compose
file and the Collector's and Tempo's configs."""

from __future__ import annotations

from obs.author.stack import Collector, Compose, Tempo
from obs.compile.context import Context
from obs.core.artifacts import Artifact
from obs.core.content import load_objects
from obs.core.errors import Problem
from obs.core.serialize import yaml_text

STACK_PACKAGE = "stack"

StackObject = Compose | Collector | Tempo


def compile_stack(ctx: Context) -> None:
    """Compile stack/*.py; each module defines `config`."""
    if not (ctx.root / STACK_PACKAGE).is_dir():
        return
    loaded, problems = load_objects(ctx.root, STACK_PACKAGE, "config", (Compose, Collector, Tempo),
                                    "an obs.author.stack Compose, Collector or Tempo")
    ctx.problems += problems
    produced: dict[str, str] = {}
    for item in loaded:
        value: StackObject = item.value
        if value.path in produced:
            ctx.problems.append(Problem(item.source, value.what, "",
                                        f"{value.path} is already produced by {produced[value.path]}"))
            continue
        produced[value.path] = item.source
        try:
            document = value.document()
        except ValueError as error:
            ctx.problems.append(Problem(item.source, value.what, "$", str(error)))
            continue
        ctx.artifacts.append(Artifact(value.path, yaml_text(document, item.source), item.source))
