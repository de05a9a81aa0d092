"""The compiled validators are kept between runs, keyed by the schema, and a cache file that cannot be trusted
is ignored and rebuilt."""

from __future__ import annotations

import subprocess
import sys

import pytest

from obs.core import schemas

SCHEMA = {"type": "object", "required": ["uid"], "properties": {"uid": {"type": "string", "maxLength": 40}},
          "additionalProperties": False}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("OBS_CACHE_DIR", str(tmp_path))
    return tmp_path / "validators"


def test_findings_name_the_path_and_the_reason(cache):
    validator = schemas.for_schema(SCHEMA)
    assert validator.findings({"uid": "x"}) == []
    assert sorted(validator.findings({"uid": 3, "extra": 1})) == [
        ([], "Additional properties are not allowed ('extra' was unexpected)"), (["uid"], "3 is not of type 'string'")]


def test_the_compiled_validator_is_cached_and_reused(cache):
    schemas.for_schema(SCHEMA)
    [stored] = list(cache.glob("*.marshal"))
    before = stored.stat().st_mtime_ns
    schemas.for_schema(SCHEMA).findings({"uid": "x"})
    assert stored.stat().st_mtime_ns == before  # read, not rewritten


@pytest.mark.parametrize("damage", [b"", b"garbage", b"0" * 64 + b"\nnot marshal data"])
def test_a_corrupt_cache_file_is_ignored_and_rebuilt(cache, damage):
    schemas.for_schema(SCHEMA)
    [stored] = list(cache.glob("*.marshal"))
    stored.write_bytes(damage)
    validator = schemas.for_schema(SCHEMA)
    assert validator.findings({"uid": 3}) == [(["uid"], "3 is not of type 'string'")]
    assert stored.read_bytes() != damage  # rebuilt


def test_a_tampered_cache_file_is_not_trusted(cache):
    """Code that fits its hash line but is not ours must not run: the hash covers the code itself."""
    schemas.for_schema(SCHEMA)
    [stored] = list(cache.glob("*.marshal"))
    digest, _, payload = stored.read_bytes().partition(b"\n")
    stored.write_bytes(digest + b"\n" + payload[:-1] + bytes([payload[-1] ^ 1]))
    assert schemas.for_schema(SCHEMA).findings({"uid": "x"}) == []


def test_another_schema_gets_another_cache_file(cache):
    schemas.for_schema(SCHEMA)
    schemas.for_schema({**SCHEMA, "required": []})
    assert len(list(cache.glob("*.marshal"))) == 2


def test_an_unwritable_cache_only_costs_time(tmp_path, monkeypatch):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("")
    monkeypatch.setenv("OBS_CACHE_DIR", str(blocked))
    assert schemas.for_schema(SCHEMA).findings({"uid": 1}) == [(["uid"], "1 is not of type 'string'")]


def test_the_build_works_from_a_cold_cache(tmp_path):
    from helpers import REPO

    result = subprocess.run([sys.executable, "-m", "obs", "build", "--check", "--root", str(REPO)],
                            env={"OBS_CACHE_DIR": str(tmp_path / "cold"), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert list((tmp_path / "cold" / "validators").glob("*.marshal"))
