"""What the stages of a build share: the project, the artifacts and problems so far, and what earlier stages
compiled for later ones (the alerts link to compiled dashboards, the datasource check reads both)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from obs.author.datasources import Datasource
from obs.core.artifacts import Artifact
from obs.core.errors import Problem


@dataclass
class Context:
    root: Path
    artifacts: list[Artifact] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)  # uid -> compiled document
    dashboard_sources: dict[str, str] = field(default_factory=dict)  # uid -> source module
    datasources: list[Datasource] = field(default_factory=list)

    def failed(self, prefix: str) -> bool:
        """Whether content under `prefix` ("dashboards/") already has a problem."""
        return any(problem.file.startswith(prefix) for problem in self.problems)


Stage = Callable[[Context], None]
