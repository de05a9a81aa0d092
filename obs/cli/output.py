"""How commands say things: one `error:` line per problem, a summary line, and the exit."""

from __future__ import annotations

from typing import NoReturn

import click

from obs.core.errors import Problem


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(code)


def report_problems(problems: list[Problem], verb: str) -> None:
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    count = len(problems)
    click.echo(f"{count} problem{'s' if count != 1 else ''}; {verb}", err=True)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
