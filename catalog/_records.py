"""Catalog records check their own fields when they are constructed.

A threshold written as "0.8" instead of 0.8 would otherwise surface much later, as a dozen errors in the
dashboards and rules built from it, none naming the catalog. `@record("threshold")` makes a frozen dataclass that
checks each field against its annotation; the error names the constant being defined (read from the line that
constructs it), the field and what is wrong, and the build reports it as one problem in the catalog file.
"""

from __future__ import annotations

import dataclasses
import linecache
import re
import sys
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

# What stands before the call on its line when it is assigned: `SUCCESS_RATE = ` or `X: Threshold = `.
ASSIGNMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::[^=]*)?=\s*$")
HERE = Path(__file__).resolve()


class CatalogError(TypeError, ValueError):
    """A catalog record with a field of the wrong type or value. `subject` and `field` are what the build's
    one-line message names."""

    def __init__(self, subject: str, field: str, reason: str, site: tuple[str, int] | None = None) -> None:
        self.subject = subject
        self.field = field
        self.reason = reason
        # Where the record is constructed (file, line): the line to fix, not this module's raise.
        self.filename, self.lineno = site or (None, None)
        super().__init__(f"{subject}: {field}: {reason}")


def record(kind: str) -> Callable[[type], type]:
    """Make `cls` a frozen dataclass that checks its fields on construction, then runs its own `check()` if it
    has one."""

    def decorate(cls: type) -> type:
        hints: dict[str, Any] = {}
        own_check = getattr(cls, "check", None)

        def __post_init__(self: Any) -> None:
            if not hints:
                hints.update(get_type_hints(cls, vars(sys.modules[cls.__module__])))
            for field in dataclasses.fields(self):
                reason = mismatch(getattr(self, field.name), hints.get(field.name, Any))
                if reason:
                    name, site = subject(kind, self)
                    raise CatalogError(name, field.name, reason, site)
            if own_check is not None:
                try:
                    own_check(self)
                except CatalogError as error:
                    name, site = subject(kind, self)
                    raise CatalogError(name, error.field, error.reason, site) from None

        cls.__post_init__ = __post_init__  # type: ignore[attr-defined]
        return dataclasses.dataclass(frozen=True)(cls)

    return decorate


def fail(field: str, reason: str) -> CatalogError:
    """For a record's own `check()`: the field and what is wrong with it (the subject is added)."""
    return CatalogError("", field, reason)


def mismatch(value: Any, hint: Any) -> str | None:
    """Why `value` does not fit the annotation `hint`, or None."""
    origin = get_origin(hint)
    if hint is Any:
        return None
    if origin is Literal:
        allowed = get_args(hint)
        return None if value in allowed else f"must be one of {', '.join(map(repr, allowed))}, got {value!r}"
    if origin in (types.UnionType, typing.Union):
        options = get_args(hint)
        if any(mismatch(value, option) is None for option in options):
            return None
        return f"must be {' or '.join(describe(o) for o in options)}, got {found(value)}"
    if origin is tuple:
        if not isinstance(value, tuple):
            return f"must be a tuple, got {found(value)}"
        item = get_args(hint)[0] if get_args(hint) else Any
        for index, element in enumerate(value):
            reason = mismatch(element, item)
            if reason:
                return f"item {index} {reason}"
        return None
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        return None if isinstance(value, Mapping) else f"must be a mapping, got {found(value)}"
    if hint is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else f"must be a number, got {found(value)}"
    if hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"must be an integer, got {found(value)}"
    if hint is type(None):
        return None if value is None else f"must be None, got {found(value)}"
    if isinstance(hint, type):
        return None if isinstance(value, hint) else f"must be {describe(hint)}, got {found(value)}"
    return None


def describe(hint: Any) -> str:
    if hint is type(None):
        return "None"
    if hint is float:
        return "a number"
    if get_origin(hint) is Literal:
        return "one of " + ", ".join(map(repr, get_args(hint)))
    name = getattr(hint, "__name__", str(hint))
    return f"a {name}" if name != "str" else "a string"


def found(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def subject(kind: str, instance: Any) -> tuple[str, tuple[str, int] | None]:
    """("threshold SUCCESS_RATE", (file, line)): the record's kind and the name it is being assigned to, and
    where it is constructed."""
    name, site = construction()
    if name is None:
        name = repr(getattr(instance, "name", None) or getattr(instance, "uid", None) or "?")
    return f"{kind} {name}", site


def construction() -> tuple[str | None, tuple[str, int] | None]:
    """The constant the record is being assigned to (`SUCCESS_RATE = Threshold(...)`, None when the
    construction is not the right-hand side of an assignment), and the file and line of the construction."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.endswith(".py") and Path(filename).resolve() != HERE:
            # The call being made: its position says where `Threshold(` starts; the assignment is before it.
            positions = list(frame.f_code.co_positions())
            index = frame.f_lasti // 2
            line, _, column, _ = positions[index] if index < len(positions) else (None, None, None, None)
            site = (filename, line or frame.f_lineno)
            if line is None or column is None:
                return None, site
            match = ASSIGNMENT.match(linecache.getline(filename, line)[:column])
            return (match.group(1) if match else None), site
        frame = frame.f_back
    return None, None
