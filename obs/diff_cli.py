"""`obs diff` and `obs preview`: what a change does to the compiled monitoring, for review.

    obs diff                      the working tree against the merge base with main (origin/main if any)
    obs diff --base REV           ... against any revision
    obs diff --grafana-url URL    ... against a live Grafana (obs.push.live_diff)
    obs preview --out DIR         SVG pictures of each dashboard's layout and an index page

The base revision is checked out in a temporary `git worktree` (removed afterwards, even on failure) and
built there. Each tree is built in its own Python process whose import path puts that tree's content
packages (catalog, dashboards, alerts...) first, so the base build uses the base's thresholds and
metric names, while the toolkit (obs) is the current one. When the base does not build with the current
toolkit, its committed monitoring/ files stand in for its build, and the report says so.

Exit codes of `obs diff`: 0 no changes, 1 changes, 2 error.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import click

from obs import semantic_diff as sd

EXIT_SAME, EXIT_CHANGED, EXIT_ERROR = 0, 1, 2
# Top-level packages of a project tree that are the toolkit or not importable content.
NOT_CONTENT = {"obs", "tests", "benchmarks", "scripts"}
BUILD_TIMEOUT = 600

# Run in a child process: build `root` and print {"ok", "files" | "problems"} as JSON on stdout.
BUILD_SCRIPT = """
import json, sys
from pathlib import Path
if sys.argv[2] == "own-toolkit":
    # An editable install's finder would serve obs.* modules the old tree lacks from the current tree.
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "__module__", "").startswith("__editable__")]
HIDDEN = set(filter(None, sys.argv[3].split(",")))


class Hide:
    # Content packages this revision does not have must not come from the installed (current) tree.
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r} in this revision", name=name)
        return None


sys.meta_path.insert(0, Hide)
from obs.build import build_artifacts
from obs.errors import BuildError
try:
    artifacts = build_artifacts(Path(sys.argv[1]))
except BuildError as error:
    result = {"ok": False, "problems": [str(p) for p in error.problems]}
else:
    result = {"ok": True, "files": {a.path: a.text for a in artifacts}}
sys.stdout.write("\\n@@obs-build@@" + json.dumps(result))
"""


class DiffError(Exception):
    """Something that stops the comparison: reported on one line, exit code 2."""


# --- Building a tree ---------------------------------------------------------------------------------

@dataclass
class TreeBuild:
    files: dict[str, str] = field(default_factory=dict)  # artifact path -> text
    problems: list[str] = field(default_factory=list)  # empty when the build succeeded

    @property
    def ok(self) -> bool:
        return not self.problems


def content_packages(root: Path) -> list[str]:
    """The project's own importable packages (catalog, dashboards, alerts...), not the toolkit."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and (p / "__init__.py").is_file() and p.name not in NOT_CONTENT)


def build_tree(root: Path, own_toolkit: bool = False, hide: Collection[str] = ()) -> TreeBuild:
    """Build the project at `root` in a child process that imports `root`'s content packages and the
    current toolkit (or, with `own_toolkit`, everything from `root`, obs/ included). Packages in `hide`
    (content the tree lacks) cannot be imported at all, rather than from the installed tree."""
    with tempfile.TemporaryDirectory(prefix="obs-diff-path-") as shim:
        for name in content_packages(root):
            os.symlink(root / name, Path(shim) / name, target_is_directory=True)
        env = dict(os.environ)
        first = [str(root)] if own_toolkit else []
        env["PYTHONPATH"] = os.pathsep.join(p for p in (*first, shim, env.get("PYTHONPATH", "")) if p)
        env.pop("PYTHONSTARTUP", None)
        try:
            # -P: do not put the working directory first on the path (it may hold an old obs/).
            mode = "own-toolkit" if own_toolkit else "current-toolkit"
            command = [sys.executable, "-P", "-c", BUILD_SCRIPT, str(root), mode, ",".join(sorted(hide))]
            result = subprocess.run(command, cwd=shim, env=env, capture_output=True, text=True,
                                    timeout=BUILD_TIMEOUT)
        except subprocess.TimeoutExpired as error:
            raise DiffError(f"building {root} took more than {BUILD_TIMEOUT} s") from error
        _, marker, payload = result.stdout.rpartition("@@obs-build@@")
        if not marker:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            return TreeBuild(problems=[f"the build crashed: {last.replace(shim, str(root))}"])
    data = json.loads(payload)
    return TreeBuild(files=data["files"]) if data["ok"] else TreeBuild(problems=data["problems"])


def committed_files(root: Path, produced: set[str]) -> dict[str, str]:
    """The compiled files as committed: those the current build produces, and under monitoring/ those of
    a kind the differ knows (dashboards, rules...)."""
    patterns = [pattern for kind in sd.KINDS for pattern in kind.patterns]
    base = root / "monitoring"
    found = {p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file()} if base.is_dir() else set()
    wanted = {p for p in found if any(fnmatch(p, pattern) for pattern in patterns)}
    wanted |= {p for p in produced if (root / p).is_file()}
    return {p: (root / p).read_text(encoding="utf-8") for p in sorted(wanted)}


def parse_files(files: dict[str, str]) -> sd.Documents:
    documents = {}
    for path, text in files.items():
        try:
            documents[path] = sd.parse_artifact(path, text)
        except Exception as error:  # ValueError from json, yaml.YAMLError from yaml
            raise DiffError(f"{path}: does not parse: {str(error).splitlines()[0]}") from error
    return documents


# --- Git ---------------------------------------------------------------------------------------------

def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        message = (result.stderr.strip().splitlines() or [f"exit {result.returncode}"])[-1]
        raise DiffError(f"git {' '.join(args)}: {message}")
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
    raise DiffError("no origin/main or main branch to take the merge base with; pass --base REV")


def resolve_base(top: Path, rev: str | None) -> tuple[str, str]:
    if rev is None:
        return default_base(top)
    if not _has_commit(top, rev):
        raise DiffError(f"unknown revision {rev!r}")
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
    report: sd.Report
    old: sd.Documents
    new: sd.Documents


def compare_with_revision(root: Path, rev: str | None) -> Comparison:
    """Build the working tree at `root` and the same project at `rev`; compare them."""
    try:
        top = Path(git(root, "rev-parse", "--show-toplevel")).resolve()
    except DiffError as error:
        raise DiffError(f"{root} is not in a git repository ({error})") from error
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
                old_files, note = build_base(old_root, lambda: set(building.result().files),
                                             hide=set(content_packages(root)) - set(content_packages(old_root)))
                notes += [note] if note else []
        current = building.result()
    if not current.ok:
        raise DiffError("the working tree does not build:\n  " + "\n  ".join(current.problems))
    old, new = parse_files(old_files), parse_files(current.files)
    report = sd.diff_documents(old, new)
    report.notes, report.base = notes, label
    return Comparison(report, old, new)


def build_base(root: Path, produced: Callable[[], set[str]],
               hide: Collection[str] = ()) -> tuple[dict[str, str], str]:
    """The base's artifacts and a note on how they were obtained: built with the current toolkit; else
    built with the base's own toolkit (obs/ as it was then); else its committed monitoring/ files.
    `hide`: content packages the working tree has and the base has not."""
    base = build_tree(root, hide=hide)
    if base.ok:
        return base.files, ""
    count = len(base.problems)
    # A module that does not import usually explains the rest (alerts linking to its dashboard...).
    causes = sorted(base.problems, key=lambda p: "failed to import" not in p and "crashed" not in p)
    why = f"{count} problem{'s' if count != 1 else ''}: " + "; ".join(causes[:2]) + ("; ..." if count > 2 else "")
    if (root / "obs" / "build.py").is_file():
        own = build_tree(root, own_toolkit=True)
        if own.ok:
            return own.files, (f"the base does not build with the current toolkit ({why}); built it with its "
                               f"own toolkit (obs/ as of the base), so changes to the toolkit show too")
    return committed_files(root, produced()), (f"the base does not build ({why}); compared with its committed "
                                             f"monitoring/ files instead")


def render(report: sd.Report, output_format: str, name_only: bool) -> str:
    if output_format == "markdown":
        return sd.render_markdown(report, name_only=name_only)
    if output_format == "json":
        return sd.render_json(report)
    return sd.render_text(report, name_only=name_only)


# --- Commands ----------------------------------------------------------------------------------------

def _root_option(function):
    return click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Project folder (default: the nearest folder upwards with pyproject.toml and "
                             "dashboards/).")(function)


def _resolve_root(root: Path | None) -> Path:
    from obs.cli import resolve_root  # imported late: obs.cli registers these commands

    return resolve_root(root)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


@click.command("diff")
@_root_option
@click.option("--base", "base", metavar="REV", default=None,
              help="Git revision to compare with (default: the merge base with origin/main or main).")
@click.option("--grafana-url", metavar="URL", default=None,
              help="Compare with the dashboards in a running Grafana instead of a git revision.")
@click.option("--token", envvar="GRAFANA_TOKEN", default=None, show_envvar=True,
              help="Grafana service-account token (with --grafana-url).")
@click.option("--user", envvar="GRAFANA_USER", default=None, help="Grafana basic-auth user (with --grafana-url).")
@click.option("--password", envvar="GRAFANA_PASSWORD", default=None,
              help="Grafana basic-auth password (with --grafana-url).")
@click.option("--insecure", is_flag=True, help="Do not verify Grafana's TLS certificate (with --grafana-url).")
@click.option("--timeout", type=float, default=10.0, show_default=True,
              help="Seconds per Grafana request (with --grafana-url).")
@click.option("--format", "output_format", type=click.Choice(["text", "markdown", "json"]), default="text",
              show_default=True, help="text for a terminal, markdown for a pull-request comment, json for tools.")
@click.option("--name-only", is_flag=True, help="Only which dashboards and files changed, and the summary.")
@click.option("--preview", "preview_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write before/after SVG pictures of each changed dashboard and an index.html here.")
def diff(root: Path | None, base: str | None, grafana_url: str | None, token: str | None, user: str | None,
         password: str | None, insecure: bool, timeout: float, output_format: str, name_only: bool,
         preview_dir: Path | None) -> None:
    """What the working tree changes in the compiled dashboards, rules and routes, by meaning.

    Exit code: 0 no changes, 1 changes, 2 error.
    """
    project = _resolve_root(root)
    if grafana_url is not None:
        if base is not None or preview_dir is not None:
            raise click.UsageError("--grafana-url compares with a live Grafana: it takes no --base or --preview")
        sys.exit(_live_diff(project=project, grafana_url=grafana_url, token=token, user=user, password=password,
                            insecure=insecure, timeout=timeout, output_format=output_format))
    try:
        comparison = compare_with_revision(project, base)
    except DiffError as error:
        _fail(str(error))
        return
    click.echo(render(comparison.report, output_format, name_only), nl=False)
    if preview_dir is not None:
        from obs.preview import write_diff_preview

        written = write_diff_preview(comparison.old, comparison.new, comparison.report, preview_dir)
        click.echo(f"preview: {len(written)} files in {preview_dir} (open {preview_dir / 'index.html'})", err=True)
    sys.exit(EXIT_CHANGED if comparison.report.changed else EXIT_SAME)


def _live_diff(**options: Any) -> int:
    """Hand over to obs.push.live_diff, which owns the comparison with a live Grafana.

    Contract: live_diff(root: Path, grafana_url: str, credential | token/user/password, insecure: bool,
    timeout: float, output_format: str) -> int (the exit code: 0 same, 1 differs, 2 and up errors).
    Only the parameters its signature names are passed; `credential` is chosen by
    obs.grafana_api.make_target (a token wins over basic auth).
    """
    try:
        from obs import push
    except ModuleNotFoundError as error:
        if error.name not in ("obs.push",):
            raise
        push = None
    live = getattr(push, "live_diff", None)
    if live is None:
        click.echo("error: live diff not available (obs.push.live_diff is not installed)", err=True)
        return EXIT_ERROR
    candidates = {"root": options["project"], "project": options["project"], "grafana_url": options["grafana_url"],
                  "url": options["grafana_url"], "token": options["token"], "user": options["user"],
                  "password": options["password"], "insecure": options["insecure"],
                  "output_format": options["output_format"], "format": options["output_format"]}
    parameters = inspect.signature(live).parameters
    if "credential" in parameters:
        from obs.grafana_api import UsageError, make_target

        try:
            candidates["credential"] = make_target(options["grafana_url"], options["token"], options["user"],
                                                   options["password"], insecure=options["insecure"],
                                                   timeout=options["timeout"]).credential
        except UsageError as error:
            click.echo(f"error: {error}", err=True)
            return EXIT_ERROR
    candidates["timeout"] = options["timeout"]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        chosen = {k: candidates[k] for k in ("root", "grafana_url", "token", "user", "password", "insecure",
                                             "timeout", "output_format")}
    else:
        chosen = {name: candidates[name] for name in parameters if name in candidates}
    result = live(**chosen)
    return result if isinstance(result, int) else EXIT_SAME


@click.command("preview")
@_root_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the pictures (default: build/preview under the project).")
def preview(root: Path | None, out_dir: Path | None) -> None:
    """Draw each compiled dashboard's layout as SVG (24-column grid, panels, rows) with an index.html."""
    from obs.build import build_artifacts
    from obs.cli import report_problems
    from obs.errors import BuildError
    from obs.preview import write_preview

    project = _resolve_root(root)
    try:
        artifacts = build_artifacts(project)
    except BuildError as error:
        report_problems(error, "nothing drawn")
        sys.exit(1)
    documents = parse_files({a.path: a.text for a in artifacts})
    target = out_dir if out_dir is not None else project / "build" / "preview"
    written = write_preview(documents, target)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"{len(written) - 1} dashboards drawn; open {target / 'index.html'}")
