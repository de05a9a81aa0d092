"""Keeping credentials out of everything obs prints: every message that might carry server text goes through
`redact` with the secrets of the run, in every encoding obs itself sent them."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
URL_CREDENTIALS = re.compile(r"(?<=//)[^/@\s]*@")


def secret_forms(secret: str) -> set[str]:
    """The ways a secret can appear in text: as given, URL-quoted (a query string, a form) and
    percent-quoted with `+` for spaces."""
    return {form for form in (secret, quote(secret, safe=""), quote_plus(secret, safe="")) if form}


def basic_auth_forms(user: str, password: str) -> set[str]:
    """The password, and the base64 `user:password` of an Authorization: Basic header, which decodes to it."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return secret_forms(password) | {token}


# A secret this long is replaced wherever it occurs; a shorter one only where it stands as a whole word, so a
# short password does not turn "credentials" into "cr***entials"
ANYWHERE_FROM = 8
# A whole word may follow a percent escape (`Basic%20<base64>`): its last hex digit is not part of the word
WORD_START = r"(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2}))"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with each secret replaced by ***, and credentials in URLs removed."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= ANYWHERE_FROM:
            text = text.replace(secret, MASK)
        elif secret:
            text = re.sub(rf"{WORD_START}{re.escape(secret)}(?![A-Za-z0-9])", MASK, text)
    return URL_CREDENTIALS.sub(MASK + "@", text)
