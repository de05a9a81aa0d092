"""Helpers every handler shares: Grafana's uid rules, timestamps, simplejson's MustInt."""

from __future__ import annotations

import random
import re
import string
from datetime import UTC, datetime
from typing import Any

# src: pkg/util/shortid_generator.go (IsValidShortUID / IsShortUIDTooLong, MaxUIDLength = 40)
UID_RE = re.compile(r"^[a-zA-Z0-9\-_]*$")
MAX_UID_LEN = 40


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def short_uid() -> str:
    # src: pkg/util/shortid_generator.go GenerateShortUID (a letter, then lower-case alnum)
    rest = "".join(random.choices(string.ascii_lowercase + string.digits, k=13))
    return random.choice(string.ascii_lowercase) + rest


def as_int(value: Any) -> int:
    """simplejson MustInt(): numbers (or numeric strings) -> int, anything else -> 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return 0
    return 0
