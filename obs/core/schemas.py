"""The JSON Schemas the toolkit ships (obs/schemas/), loaded once, and validators for them.

A document is checked by code that fastjsonschema generates from the schema: about ten times faster than
jsonschema on a valid document, which is every document of a normal build. Generating and compiling that
code costs more than a whole build, so the compiled code is kept between runs in a cache folder, keyed by the
schema's content, the fastjsonschema version and the Python version. A cache file is trusted only when its
recorded hash matches its content; a stale, corrupt or unreadable one is ignored and rebuilt. When the fast
check fails, jsonschema lists every error with its path, so messages stay precise.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from obs.core.fs import read_checked, write_checked

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
CACHE_ENV = "OBS_CACHE_DIR"
CACHE_FORMAT = "obs-validator-3"

Finding = tuple[list[str | int], str]  # a JSON path into the document and what is wrong there


def cache_dir() -> Path:
    """$OBS_CACHE_DIR, else $XDG_CACHE_HOME/obs, else ~/.cache/obs."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "obs"


@cache
def load(name: str) -> dict[str, Any] | None:
    """A schema by its path under obs/schemas/ ("rules.schema.json", "grafana-13.2.3/dashboard.schema.json");
    None when the toolkit ships no such schema."""
    path = SCHEMA_DIR / name
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


class Validator:
    """Checks documents against one schema: `findings(document)` lists (path, message) pairs, empty when
    the document is valid."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._fast = _fast_validator(schema)
        self._full: Any = None

    def is_valid(self, document: Any) -> bool:
        return self._fast(document)

    def findings(self, document: Any) -> list[Finding]:
        if self._fast(document):
            return []
        return [(list(error.absolute_path), error.message) for error in self._iter_errors(document)]

    def _iter_errors(self, document: Any) -> Iterator[Any]:
        if self._full is None:
            import jsonschema  # only on the error path: importing it costs more than a valid build

            self._full = jsonschema.Draft7Validator(self.schema)
        return self._full.iter_errors(document)


@cache
def validator(name: str, definition: str | None = None) -> Validator | None:
    """The validator for a shipped schema, or for one of its definitions (`#/definitions/<definition>`)."""
    schema = load(name)
    if schema is None:
        return None
    if definition is not None:
        schema = {**schema, "$ref": f"#/definitions/{definition}"}
    return Validator(schema)


def for_schema(schema: dict[str, Any]) -> Validator:
    """A validator for a schema built at run time (cached between runs like the shipped ones)."""
    return Validator(schema)


class Invalid(Exception):
    """What the generated code raises for an invalid document (it stands in for fastjsonschema's exception
    classes, so that running cached code does not import fastjsonschema)."""

    def __init__(self, message: str = "", *args: Any, **kwargs: Any) -> None:
        super().__init__(message)


def _fast_validator(schema: dict[str, Any]):
    """A function document -> bool from fastjsonschema's generated code, compiled once per schema."""
    canonical = json.dumps(schema, sort_keys=True, separators=(",", ":"))
    key = hashlib.sha256(
        f"{CACHE_FORMAT}\0{_generator_version()}\0{sys.implementation.cache_tag}\0{canonical}".encode()
    ).hexdigest()
    namespace = _load_namespace(_cached_code(key))
    if namespace is None:
        code = _generate_code(schema, key)
        namespace = _load_namespace(code)
        assert namespace is not None, "fastjsonschema generated code without an entry point"
        _store_code(key, code)
    validate = namespace[ENTRY]

    def is_valid(document: Any) -> bool:
        try:
            validate(document)
        except Invalid:
            return False
        return True

    return is_valid


def _generator_version() -> str:
    """fastjsonschema's version, from its metadata: importing it costs more than a build that needs no code
    generated."""
    from importlib import metadata

    return metadata.version("fastjsonschema")


ENTRY = "__obs_entry__"
GENERATOR_IMPORT = re.compile(r"^from fastjsonschema import [^\n]*$", re.M)


def _generate_code(schema: dict[str, Any], key: str) -> Any:
    import fastjsonschema
    from fastjsonschema.ref_resolver import RefResolver

    # The generated entry point is named after the schema's $id; name it once, in the code itself.
    entry = RefResolver.from_schema(schema, store={}).get_scope_name()
    source = fastjsonschema.compile_to_code(schema) + f"\n{ENTRY} = {entry}\n"
    source = GENERATOR_IMPORT.sub("", source)  # its exceptions come from the namespace (Invalid)
    return compile(source, f"<obs validator {key[:12]}>", "exec")


def _load_namespace(code: Any) -> dict[str, Any] | None:
    """Run cached or fresh validator code; None when it does not define the entry point (a cache file of
    another format)."""
    if code is None:
        return None
    namespace: dict[str, Any] = {"JsonSchemaValueException": Invalid, "JsonSchemaValuesException": Invalid}
    try:
        exec(code, namespace)  # generated by fastjsonschema from a schema this package ships
    except Exception:  # noqa: BLE001 - code from a damaged cache: rebuild it
        return None
    return namespace if callable(namespace.get(ENTRY)) else None


def _cache_file(key: str) -> Path:
    return cache_dir() / "validators" / f"{key}.marshal"


def _cached_code(key: str) -> Any:
    """The compiled code stored for `key`, or None when there is none or it cannot be trusted."""
    payload = read_checked(_cache_file(key))
    if payload is None:
        return None
    try:
        return marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return None


def _store_code(key: str, code: Any) -> None:
    write_checked(_cache_file(key), marshal.dumps(code))
