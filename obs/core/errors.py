"""Problems found while building or validating, each reported as one line:

    <file>: <object>: <json path>: <reason>
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str  # the source module or the compiled file the problem is in
    obj: str  # what, inside it: "dashboard 'uid' panel 'Title' (id 3)", "alert 'HighCpu'", ...
    path: str  # JSON path into the compiled document ("$" when the whole object is wrong)
    reason: str

    def __str__(self) -> str:
        parts = [self.file, self.obj, self.path, self.reason]
        return ": ".join(part for part in parts if part).replace("\n", " ")


class BuildError(Exception):
    """Raised with every problem found; nothing has been written when it is raised."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(problem) for problem in self.problems))


class ProjectError(Exception):
    """The command cannot run where it was started (no project, unreadable settings): one line, exit 2."""


def json_path(parts: list[str | int] | tuple[str | int, ...]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
