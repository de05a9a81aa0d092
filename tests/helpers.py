"""What the tests share: the repository, throw-away copies of it to break on purpose, and running the CLI."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
# What a project is made of: its marker, content folders, and the compiled output they produce.
PROJECT_PARTS = ("pyproject.toml", "catalog", "dashboards", "datasources", "alerts", "stack", "monitoring",
                 "docker-compose.yml", "lint-exclusions.yml", "verify-allow-empty.yml")


def copy_project(root: Path) -> Path:
    """A copy of the project's content and compiled output at `root`, safe to break."""
    root.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, root / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.is_file():
            shutil.copy2(source, root / part)
    return root


def run_obs(*args: str, env: dict[str, str | None] | None = None):
    """Run the CLI in-process; returns click's Result (exit_code, stdout, stderr)."""
    from obs.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


def tree_digest(root: Path, folder: str = "monitoring") -> dict[str, str]:
    """Path -> sha256 of every file under `folder`: to prove a failed build wrote nothing."""
    base = root / folder
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(base.rglob("*")) if p.is_file()}


def edit(project: Path, module: str, old: str, new: str) -> None:
    """Replace the first `old` in a file of the project copy; fails if `old` is not there."""
    path = project / module
    text = path.read_text()
    assert old in text, f"{old!r} not in {module}"
    path.write_text(text.replace(old, new, 1))


def failing_build(project: Path) -> list[str]:
    """The build fails, says nothing was written, and wrote nothing; returns its error lines."""
    before = tree_digest(project)
    result = run_obs("build", "--root", str(project))
    assert result.exit_code == 1, result.output
    assert tree_digest(project) == before, "a failed build must write nothing"
    assert result.stderr.rstrip().endswith("nothing written")
    return [line for line in result.stderr.splitlines() if line.startswith("error: ")]


def tools_required() -> bool:
    """CI always builds the pinned tools (.ci/run): there a missing one is a broken set-up, not a skip."""
    import os

    return bool(os.environ.get("CI") or os.environ.get("OBS_REQUIRE_TOOLS"))


def pinned_tool(name: str) -> str:
    """The pinned build of a tool (scripts/build_tools.py), for a test of that release's behaviour: skipped where
    it is not built (no Go; conftest lists what did not run, once), a failure in CI."""
    import pytest

    from obs.check.tools import locate

    found = locate(name)
    if found is not None and found.pinned:
        return found.path
    reason = f"needs the pinned {name} (python3 scripts/build_tools.py, needs Go)"
    if tools_required():
        pytest.fail(reason)
    pytest.skip(reason)
