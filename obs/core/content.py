"""Importing the project's content: catalog/, dashboards/, datasources/, alerts/ and stack/.

Content is not installed. `activate(root)` makes those package names resolve to the folders of `root`, and
only there: a package the project lacks cannot come from anywhere else (an installed copy, the working
directory). Each activation forgets the content modules imported before, so every build reads the files as
they are now, and two checkouts that share one virtualenv each build their own content.

Compiled content is cached by the hash of its source (not by modification time, which misses an edit made
within the same second), in the toolkit's cache folder rather than in __pycache__ folders of the project.

The toolkit reads the catalog only at call time (`from catalog import ...` inside functions): a module-level
import would keep the catalog of the first project a process loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.abc
import importlib.machinery
import marshal
import sys
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from obs.core.errors import Problem
from obs.core.project import CONTENT_PACKAGES


class ContentLoader(importlib.machinery.SourceFileLoader):
    """A source loader whose bytecode cache is keyed by the source's hash."""

    def get_code(self, fullname: str) -> Any:
        from obs.core.fs import read_checked, write_checked
        from obs.core.schemas import cache_dir

        path = self.get_filename(fullname)
        source = self.get_data(path)
        key = hashlib.sha256(sys.implementation.cache_tag.encode() + b"\0" + path.encode() + b"\0" + source)
        cached = cache_dir() / "content" / f"{key.hexdigest()}.marshal"
        payload = read_checked(cached)
        if payload is not None:
            with contextlib.suppress(EOFError, ValueError, TypeError):
                return marshal.loads(payload)
        code = self.source_to_code(source, path)
        write_checked(cached, marshal.dumps(code))
        return code


class ContentFinder(importlib.abc.MetaPathFinder):
    """Resolves the content packages to the active project's folders, and nowhere else."""

    def __init__(self) -> None:
        self.root: Path | None = None
        self.packages: tuple[str, ...] = CONTENT_PACKAGES

    def find_spec(self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None):
        if self.root is None or fullname.partition(".")[0] not in self.packages:
            return None
        search = [str(self.root)] if "." not in fullname else list(path or [])
        spec = importlib.machinery.PathFinder.find_spec(fullname, search)
        if spec is None:
            where = self.root / fullname.replace(".", "/")
            raise ModuleNotFoundError(f"No module named {fullname!r} in the project ({where} does not exist)",
                                      name=fullname)
        if isinstance(spec.loader, importlib.machinery.SourceFileLoader) and spec.origin:
            spec.loader = ContentLoader(fullname, spec.origin)
        return spec


def _finder() -> ContentFinder:
    for finder in sys.meta_path:
        if isinstance(finder, ContentFinder):
            return finder
    finder = ContentFinder()
    sys.meta_path.insert(0, finder)
    return finder


def activate(root: Path) -> None:
    """From now on, content packages come from `root`; content imported before is forgotten."""
    finder = _finder()
    finder.root = root.resolve()
    for name in list(sys.modules):
        if name.partition(".")[0] in finder.packages:
            del sys.modules[name]
    importlib.invalidate_caches()


def missing_catalog(root: Path) -> str | None:
    """Why `root` cannot be built or checked without a catalog, or None when it has one."""
    if (root / "catalog" / "__init__.py").is_file():
        return None
    return f"{root} has no catalog package (catalog/__init__.py): every dashboard, rule and config is built from it"


def active_root() -> Path | None:
    return _finder().root


@dataclass(frozen=True)
class Loaded:
    source: str  # path relative to the project root, for messages
    value: Any


def content_modules(directory: Path) -> list[Path]:
    """The modules of a content folder, in a stable order; `_private.py` helpers are not content."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.py") if not p.name.startswith("_"))


def import_package(root: Path, package: str, problems: list[Problem]) -> Iterator[tuple[str, ModuleType]]:
    """(source, module) for each content module of root/package; one that fails to import is appended to
    `problems` instead. Any exception counts, SystemExit included: only Ctrl-C stops the build."""
    for path in content_modules(root / package):
        source = path.relative_to(root).as_posix()
        try:
            module = importlib.import_module(f"{package}.{path.stem}")
        except KeyboardInterrupt:
            raise
        except BaseException as error:  # noqa: BLE001 - content may raise anything, sys.exit() included
            problems.append(import_problem(error, path, root))
            continue
        yield source, module


def load_objects(root: Path, package: str, attribute: str, expected: type | tuple[type, ...],
                 what: str) -> tuple[list[Loaded], list[Problem]]:
    """Import every module of root/package and take its `attribute`, which must be an `expected`."""
    loaded: list[Loaded] = []
    problems: list[Problem] = []
    for source, module in import_package(root, package, problems):
        if not hasattr(module, attribute):
            problems.append(Problem(source, "module", "", f"defines no `{attribute}` ({what})"))
            continue
        value = getattr(module, attribute)
        items = value if isinstance(value, list | tuple) else [value]
        for item in items:
            if not isinstance(item, expected):
                names = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
                problems.append(
                    Problem(source, "module", "", f"`{attribute}` must be a {names}, got {type(item).__name__}")
                )
            else:
                loaded.append(Loaded(source, item))
    return loaded, problems


def import_problem(error: BaseException, path: Path, root: Path) -> Problem:
    """One line for a module that failed to import: the file and line it failed in (the deepest frame inside
    the project, so a bad catalog entry names the catalog file), and what went wrong.

    An exception that names its own subject and field (the catalog's checked records do) is reported as that
    object's problem, in the file that constructs it."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if _in_content(Path(f.filename), root)]
    file = Path(frames[-1].filename) if frames else path
    line = frames[-1].lineno if frames else None
    if isinstance(error, SyntaxError) and error.filename:
        file, line = Path(error.filename), error.lineno
    elif isinstance(getattr(error, "filename", None), str) and isinstance(getattr(error, "lineno", None), int):
        file, line = Path(error.filename), error.lineno  # an error that knows which line of content it is about
    source = file.resolve().relative_to(root.resolve()).as_posix() if _in_content(file, root) else path.name
    where = f" (line {line})" if line else ""
    subject, field = getattr(error, "subject", None), getattr(error, "field", None)
    if isinstance(subject, str) and isinstance(field, str):
        return Problem(source, subject, field, f"{getattr(error, 'reason', error)}{where}")
    if isinstance(error, SyntaxError):
        return Problem(source, "module", "", f"failed to import: SyntaxError: {error.msg}{where}")
    if isinstance(error, SystemExit):
        return Problem(source, "module", "", f"failed to import: it called sys.exit({error.code!r}){where}")
    return Problem(source, "module", "", f"failed to import: {type(error).__name__}: {error}{where}")


def _in_content(path: Path, root: Path) -> bool:
    """Whether `path` is a file of one of the project's content packages (not the toolkit, which may live in
    the same folder)."""
    try:
        relative = path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return len(relative.parts) > 1 and relative.parts[0] in CONTENT_PACKAGES
