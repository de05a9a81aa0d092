"""A compiled file, in memory: where it goes, its exact text, and the content it came from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Artifact:
    path: str  # relative to the project root, POSIX separators
    text: str
    source: str  # the content that produced it, for messages ("dashboards/system_overview.py")

    @property
    def label(self) -> str:
        """How messages name the file: `source -> path`, or the path alone when they are the same."""
        return f"{self.source} -> {self.path}" if self.source and self.source != self.path else self.path
