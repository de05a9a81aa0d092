"""Where and how to reach Grafana: the URL (normalised, credentials taken out of it), the credential, and which
of Grafana's APIs to use for dashboards and folders."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

from obs.core.redact import basic_auth_forms, redact, secret_forms

Credential = str | tuple[str, str]
# auto: ask the server (GET /apis) and use dashboard.grafana.app and folder.grafana.app where served;
# apis: those or nothing; legacy: /api/dashboards and /api/folders (Grafana 11.x, 12.x)
API_CHOICES = ("auto", "apis", "legacy")


def redact_url(url: str) -> str:
    return redact(url, ())


class UsageError(ValueError):
    """The URL or credentials given cannot work (exit code 2)."""


@dataclass(frozen=True)
class Target:
    """Where and how to talk to Grafana. `url` is normalised: no trailing slash, no credentials."""

    url: str
    credential: Credential = field(repr=False)
    insecure: bool = False
    timeout: float = 10.0
    retries: int = 4
    api: str = "auto"
    url_secrets: tuple[str, ...] = field(default=(), repr=False)  # the credentials as written in the URL

    @property
    def auth_kind(self) -> str:
        return "token auth" if isinstance(self.credential, str) else "basic auth"

    @property
    def secrets(self) -> list[str]:
        """Every form of the credential obs sends, to redact: as given, URL-quoted, and for basic auth the
        base64 `user:password` of the Authorization header (which decodes to the password)."""
        if isinstance(self.credential, str):
            forms = secret_forms(self.credential)
        else:
            user, password = self.credential
            forms = basic_auth_forms(user, password) if password else set()
        return sorted(forms | {s for s in self.url_secrets if s}, key=len, reverse=True)


def normalise_url(url: str) -> tuple[str, tuple[str, str] | None]:
    """`https://u:p@host:3000/grafana/?x#y` -> (`https://host:3000/grafana`, ("u", "p"))."""
    text = (url or "").strip()
    if not text:
        raise UsageError("no Grafana URL: pass --grafana-url or set GRAFANA_URL")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"Grafana URL must look like http(s)://host[:port][/sub-path], got {redact_url(text)!r}")
    try:
        port = parts.port
    except ValueError as error:
        raise UsageError(f"Grafana URL has an invalid port: {redact_url(text)!r}") from error
    # urlsplit leaves user and password percent-encoded, as written: `p%40ss` is the password `p@ss`
    embedded = (unquote(parts.username or ""), unquote(parts.password or "")) if parts.username else None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host + (f":{port}" if port else "")
    path = re.sub(r"/+", "/", parts.path).rstrip("/")
    return urlunsplit((parts.scheme, netloc, path, "", "")), embedded


def make_target(url: str, token: str | None, user: str | None, password: str | None, *,
                insecure: bool = False, timeout: float = 10.0, retries: int = 4, api: str = "auto") -> Target:
    """Pick the credential: a token wins over basic auth; credentials in the URL are the last resort."""
    clean, embedded = normalise_url(url)
    if api not in API_CHOICES:
        raise UsageError(f"--api must be one of {', '.join(API_CHOICES)}, got {api!r}")
    written = urlsplit((url or "").strip())
    url_secrets = tuple(s for s in (written.password or "", unquote(written.password or "")) if s)
    credential: Credential
    if token:
        credential = token
    elif user or password:
        if not (user and password):
            raise UsageError("basic auth needs both --user and --password (GRAFANA_USER, GRAFANA_PASSWORD)")
        credential = (user, password)
    elif embedded and embedded[1]:
        credential = embedded
    else:
        raise UsageError("no credentials: pass --token (or set GRAFANA_TOKEN, a service-account token), "
                         "or --user and --password")
    if timeout <= 0:
        raise UsageError("--timeout must be positive")
    return Target(clean, credential, insecure, timeout, retries, api, url_secrets)
