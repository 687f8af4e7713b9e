"""Who may write: the optional access token, and the origins browsers may write from.

Reads are open.  Writes (POST, PUT, PATCH, DELETE) and WebSocket publishes
need the bearer token when one is configured.  Browsers send ``Origin`` on
cross-site writes and WebSocket handshakes, so any page a person visits
could otherwise drive a server on their loopback; only the server's own
origin and the configured ones are let through.  Clients that send no
``Origin`` (scripts, other servers) are not browsers and pass.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection, Request
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from workflow.settings import Settings

__all__ = ["AccessPolicy"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AccessPolicy:
    """The access rules of one server; also a Litestar guard for HTTP writes."""

    def __init__(self, settings: Settings) -> None:
        self._token = settings.access_token
        self._origins = frozenset(settings.allowed_origins)

    @property
    def needs_token(self) -> bool:
        """Tell whether writes need a token at all."""
        return self._token is not None

    def is_allowed_origin(self, connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
        """Tell whether the request comes from no browser, our own origin or an allowed one."""
        origin = connection.headers.get("origin")
        if origin is None or "*" in self._origins or origin.rstrip("/") in self._origins:
            return True
        return urlsplit(origin).netloc == connection.headers.get("host")

    def has_token(self, connection: ASGIConnection[Any, Any, Any, Any], *, query: bool) -> bool:
        """Tell whether the connection shows the token (``token`` query parameter if ``query``)."""
        if self._token is None:
            return True
        scheme, _, presented = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" and query:
            presented = connection.query_params.get("token", "")
        return hmac.compare_digest(presented.strip().encode(), self._token.encode())

    def has_wrong_token(self, connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
        """Tell whether the WebSocket handshake shows a token, and not the right one."""
        shown = "authorization" in connection.headers or "token" in connection.query_params
        return shown and not self.has_token(connection, query=True)

    def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        """Refuse an HTTP write from a foreign origin (403) or without the token (401)."""
        if not isinstance(connection, Request) or connection.method in SAFE_METHODS:
            return
        if not self.is_allowed_origin(connection):
            raise PermissionDeniedException(
                f"origin {connection.headers.get('origin')!r} may not write here; "
                "the server's --allowed-origins lists who may"
            )
        if not self.has_token(connection, query=False):
            raise NotAuthorizedException(
                "this server needs its access token: Authorization: Bearer <token>"
            )
