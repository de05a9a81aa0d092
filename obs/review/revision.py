"""Building another revision of the project for `obs diff`: the base is checked out in a temporary
`git worktree` (removed afterwards, even on failure) and built there by the current toolkit, in a process of
its own that imports that tree's content (obs.core.content), so the base build uses the base's thresholds and
metric names. When the base does not build with the current toolkit, its committed compiled files stand in for
its build, and the comparison says so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

from obs.check.files import checks_for
from obs.core.paths import MONITORING_DIR
from obs.core.serialize import parse_document, parse_failure
from obs.diff import KINDS, diff_documents
from obs.diff.model import Documents, Report

BUILD_TIMEOUT = 600

# Run in a child process: build the project at argv[1] and print {"ok", "files" | "problems"} as JSON.
BUILD_SCRIPT = """
import json, sys
from pathlib import Path
from obs.compile.pipeline import build
from obs.core.errors import BuildError
try:
    artifacts = build(Path(sys.argv[1]))
except BuildError as error:
    result = {"ok": False, "problems": [str(p) for p in error.problems]}
else:
    result = {"ok": True, "files": {a.path: a.text for a in artifacts}}
sys.stdout.write("\\n@@obs-build@@" + json.dumps(result))
"""


class RevisionError(Exception):
    """Something that stops the comparison (no git, unknown revision, the working tree does not build)."""


# --- Building a tree ---------------------------------------------------------------------------------

@dataclass
class TreeBuild:
    files: dict[str, str] = field(default_factory=dict)  # artifact path -> text
    problems: list[str] = field(default_factory=list)  # empty when the build succeeded

    @property
    def ok(self) -> bool:
        return not self.problems


def build_tree(root: Path) -> TreeBuild:
    """Build the project at `root` in a child process that imports `root`'s content with the current toolkit."""
    try:
        # -P: the working directory is not put first on the path; the child imports content from `root` only.
        result = subprocess.run([sys.executable, "-P", "-c", BUILD_SCRIPT, str(root)], cwd=root,
                                capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired as error:
        raise RevisionError(f"building {root} took more than {BUILD_TIMEOUT} s") from error
    _, marker, payload = result.stdout.rpartition("@@obs-build@@")
    if not marker:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return TreeBuild(problems=[f"the build crashed: {last}"])
    data = json.loads(payload)
    return TreeBuild(files=data["files"]) if data["ok"] else TreeBuild(problems=data["problems"])


def committed_files(root: Path, produced: set[str]) -> dict[str, str]:
    """The compiled files as committed: those the current build produces, and under monitoring/ those of
    a kind the differ or the checks know (dashboards, rules...)."""
    patterns = [pattern for kind in KINDS for pattern in kind.patterns]
    base = root / MONITORING_DIR
    found = {p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file()} if base.is_dir() else set()
    wanted = {p for p in found if checks_for(p) or any(fnmatch(p, pattern) for pattern in patterns)}
    wanted |= {p for p in produced if (root / p).is_file()}
    return {p: (root / p).read_text(encoding="utf-8") for p in sorted(wanted)}


def parse_files(files: dict[str, str]) -> Documents:
    documents = {}
    for path, text in files.items():
        try:
            documents[path] = parse_document(path, text)
        except Exception as error:  # ValueError from json, yaml.YAMLError from yaml
            raise RevisionError(f"{path}: does not parse: {parse_failure(error)}") from error
    return documents


# --- Git ---------------------------------------------------------------------------------------------

def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        message = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        raise RevisionError(f"git {' '.join(args)}: {message}")
    return result.stdout.strip()


def _has_commit(cwd: Path, rev: str) -> bool:
    return subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=cwd,
                          capture_output=True).returncode == 0


def default_base(top: Path) -> tuple[str, str]:
    """(label, commit): the merge base of HEAD with origin/main, or with main."""
    for ref in ("origin/main", "main"):
        if _has_commit(top, ref):
            commit = git(top, "merge-base", "HEAD", ref)
            return f"the merge base with {ref} ({commit[:10]})", commit
    raise RevisionError("no origin/main or main branch to take the merge base with; pass --base REV")


def resolve_base(top: Path, rev: str | None) -> tuple[str, str]:
    if rev is None:
        return default_base(top)
    if not _has_commit(top, rev):
        raise RevisionError(f"unknown revision {rev!r}")
    commit = git(top, "rev-parse", "--verify", f"{rev}^{{commit}}")
    return f"{rev} ({commit[:10]})", commit


@contextmanager
def base_worktree(top: Path, commit: str) -> Iterator[Path]:
    """A detached worktree of `commit` in a temporary folder, removed afterwards whatever happens."""
    folder = Path(tempfile.mkdtemp(prefix="obs-diff-"))
    tree = folder / f"base-{commit[:10]}"
    try:
        git(top, "worktree", "add", "--detach", "--quiet", str(tree), commit)
        yield tree
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=top, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=top, capture_output=True)


# --- The comparison ----------------------------------------------------------------------------------

@dataclass
class Comparison:
    report: Report
    old: Documents
    new: Documents


def compare_with_revision(root: Path, rev: str | None) -> Comparison:
    """Build the working tree at `root` and the same project at `rev`; compare them."""
    try:
        top = Path(git(root, "rev-parse", "--show-toplevel")).resolve()
    except RevisionError as error:
        raise RevisionError(f"{root} is not in a git repository ({error})") from error
    label, commit = resolve_base(top, rev)
    notes: list[str] = []
    relative = root.resolve().relative_to(top)
    # The two builds are independent processes: run them side by side.
    with ThreadPoolExecutor(max_workers=1) as pool:
        building = pool.submit(build_tree, root)
        with base_worktree(top, commit) as tree:
            old_root = tree / relative
            if not old_root.is_dir():
                notes.append(f"{relative.as_posix() or '.'} does not exist at {label}: everything is new")
                old_files: dict[str, str] = {}
            else:
                old_files, note = build_base(old_root, lambda: set(building.result().files))
                notes += [note] if note else []
        current = building.result()
    if not current.ok:
        raise RevisionError("the working tree does not build:\n  " + "\n  ".join(current.problems))
    old, new = parse_files(old_files), parse_files(current.files)
    report = diff_documents(old, new)
    report.notes, report.base = notes, label
    return Comparison(report, old, new)


def build_base(root: Path, produced: Callable[[], set[str]]) -> tuple[dict[str, str], str]:
    """The base's artifacts and a note on how they were obtained: built with the current toolkit, else its
    committed compiled files."""
    base = build_tree(root)
    if base.ok:
        return base.files, ""
    count = len(base.problems)
    # A module that does not import usually explains the rest (alerts linking to its dashboard...).
    causes = sorted(base.problems, key=lambda p: "failed to import" not in p and "crashed" not in p)
    why = f"{count} problem{'s' if count != 1 else ''}: " + "; ".join(causes[:2]) + ("; ..." if count > 2 else "")
    return committed_files(root, produced()), (f"the base does not build with the current toolkit ({why}); "
                                             "compared with its committed compiled files instead")
