"""Writing files so that a reader never sees half of one, and so that they stay readable by the services that
mount them (Grafana's container runs as uid 472, Prometheus's as nobody)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path

TEMP_MARK = ".obs-tmp-"
DEFAULT_MODE = 0o666  # before the umask, as open() would create the file: 0644 under the usual 022


def temp_path(target: Path) -> Path:
    """A fresh temporary name next to `target` (same directory, so a rename replaces it atomically)."""
    return target.with_name(f".{target.name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")


def is_temp(path: Path) -> bool:
    return path.name.startswith(".") and TEMP_MARK in path.name


def stage_bytes(target: Path, data: bytes) -> Path:
    """Write `data` to a temporary file beside `target`, flushed to disk, with the mode `target` has (or the
    default mode under the umask when it does not exist yet). Returns the temporary path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode: int | None = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    temp = temp_path(target)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, DEFAULT_MODE)
    try:
        if mode is not None:
            os.fchmod(fd, mode)  # not subject to the umask: exactly the replaced file's mode
        with os.fdopen(fd, "wb", closefd=False) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    os.close(fd)
    return temp


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Replace `target` with `data` in one rename."""
    temp = stage_bytes(target, data)
    try:
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise


def write_text_atomic(target: Path, text: str) -> None:
    write_bytes_atomic(target, text.encode("utf-8"))


def write_checked(target: Path, payload: bytes) -> None:
    """A cache file: the payload's sha256 on the first line, then the payload. Best effort: a cache that cannot
    be written only costs the next run the work."""
    with contextlib.suppress(OSError):
        write_bytes_atomic(target, hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)


def read_checked(path: Path) -> bytes | None:
    """The payload of a cache file written by write_checked, or None when there is none or it does not match its
    recorded hash (damaged, truncated, or not ours)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    digest, _, payload = data.partition(b"\n")
    return payload if digest == hashlib.sha256(payload).hexdigest().encode() else None


def fsync_directory(directory: Path) -> None:
    """Make renames in `directory` durable (best effort: not every filesystem allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
