"""Import content modules (dashboards/, datasources/, alerts/) by file path, turning every failure into a
Problem that names the file, instead of a traceback."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from obs.errors import Problem


@dataclass(frozen=True)
class Loaded:
    source: str  # path relative to the project root, for messages
    value: Any


def content_modules(directory: Path) -> list[Path]:
    """The modules of a content folder, in a stable order; `_private.py` helpers are not content."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob("*.py") if not p.name.startswith("_"))


def import_module(path: Path, root: Path) -> ModuleType:
    relative = path.relative_to(root).with_suffix("")
    name = "obs_content." + ".".join(relative.parts)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def import_content(root: Path, folder: str, problems: list[Problem]) -> Iterator[tuple[str, ModuleType]]:
    """(source, module) for each content module of `root/folder`; one that fails to import is appended to
    `problems` instead."""
    for path in content_modules(root / folder):
        source = path.relative_to(root).as_posix()
        try:
            module = import_module(path, root)
        except Exception as error:  # any failure in user content is reported, not raised
            problems.append(Problem(source, "module", "", f"failed to import: {describe_import_error(error, path)}"))
            continue
        yield source, module


def load_objects(
    root: Path, folder: str, attribute: str, expected: type | tuple[type, ...], what: str
) -> tuple[list[Loaded], list[Problem]]:
    """Import every module in `root/folder` and take its `attribute`, which must be an `expected`."""
    loaded: list[Loaded] = []
    problems: list[Problem] = []
    for source, module in import_content(root, folder, problems):
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


def describe_import_error(error: Exception, path: Path) -> str:
    """The error and the line of the content module it came from."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename) == path]
    where = f" (line {frames[-1].lineno})" if frames else ""
    if isinstance(error, SyntaxError) and error.lineno:
        where = f" (line {error.lineno})"
        return f"SyntaxError: {error.msg}{where}"
    return f"{type(error).__name__}: {error}{where}"
