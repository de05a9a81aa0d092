"""Who is asking: service-account tokens and basic auth, roles, and Grafana's 401 and 403 bodies."""

from __future__ import annotations

import base64
import random
import string
from dataclasses import dataclass

from .replies import _Reply

ROLES = ("Viewer", "Editor", "Admin")
_ROLE_RANK = {r: i for i, r in enumerate(ROLES)}


@dataclass
class _Identity:
    kind: str  # "user" | "token"
    login: str
    role: str

    def at_least(self, role: str) -> bool:
        return _ROLE_RANK[self.role] >= _ROLE_RANK[role]


def _forbidden(permission: str) -> _Reply:
    # src: pkg/services/accesscontrol/middleware.go deny()
    ace = "ACE" + "".join(random.choices(string.digits, k=10))
    return _Reply(
        403,
        {
            "accessErrorId": ace,
            "message": f"You'll need additional permissions to perform this action. Permissions needed: {permission}",
            "title": "Access denied",
        },
    )



class AuthMixin:
    def _authenticate(self, header: str | None) -> _Identity | _Reply:
        def unauthorized(message_id: str, message: str) -> _Reply:
            # src: pkg/services/authn/authnimpl/service.go (errCantAuthenticateReq =
            # errutil.Unauthorized("auth.unauthorized")), clients/api_key.go ("api-key.invalid",
            # "Invalid API key"), clients/password.go ("password-auth.failed"); rendered by
            # pkg/middleware/auth.go unauthorized() -> WriteErrOrFallback. Grafana <= 9 sent
            # just {"message": "Unauthorized"}.
            return _Reply(
                401,
                {"message": message, "messageId": message_id, "statusCode": 401, "traceID": ""},
            )

        if not header:
            return unauthorized("auth.unauthorized", "Unauthorized")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            token = value.strip()
            if token in self.tokens:
                return _Identity("token", "sa-1-emulator", self.tokens[token])
            return unauthorized("api-key.invalid", "Invalid API key")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return unauthorized("auth.unauthorized", "Unauthorized")
            if user == "api_key":
                # src: pkg/services/authn/clients/api_key.go getTokenFromRequest (basic api_key:<token>)
                if password in self.tokens:
                    return _Identity("token", "sa-1-emulator", self.tokens[password])
                return unauthorized("api-key.invalid", "Invalid API key")
            known = self.users.get(user)
            if known and known[0] == password:
                return _Identity("user", user, known[1])
            return unauthorized("password-auth.failed", "Invalid username or password")
        return unauthorized("auth.unauthorized", "Unauthorized")

    def _perms(self, ident: _Identity) -> dict[str, bool]:
        editor = ident.at_least("Editor")
        admin = ident.at_least("Admin")
        return {"canSave": editor, "canEdit": editor, "canAdmin": admin, "canDelete": editor}

