"""Who may read and write: the optional access token, and the origins browsers may use.

Writes (POST, PUT, PATCH, DELETE) and WebSocket publishes need the bearer
token when one is configured; with ``protect_reads``, so do reads of
``/api`` and listening on ``/ws``.  The pages, ``/schema`` and ``/healthz``
stay open: they hold no data.  Browsers send ``Origin`` on cross-site writes
and WebSocket handshakes, so any page a person visits could otherwise drive
a server on their loopback; only the server's own origin and the configured
ones are let through.  Clients that send no ``Origin`` (scripts, other
servers) are not browsers and pass.
"""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.config.allowed_hosts import AllowedHostsConfig
from litestar.connection import ASGIConnection, Request
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import Components, SecurityScheme
from litestar.routes import HTTPRoute

from api.errors import error_responses
from workflow.settings import Settings, is_loopback

__all__ = ["SECURITY_SCHEME", "AccessPolicy"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
DEFAULT_PORTS = {"http": 80, "https": 443}
PROTECTED_READS = "/api/"
SECURITY_SCHEME = "accessToken"
NEEDS_TOKEN = "this server needs its access token: Authorization: Bearer <token>"
FOREIGN_ORIGIN = "a browser page from another origin may not write here (--allowed-origins)"


def _is_write(method: str) -> bool:
    return method not in SAFE_METHODS


def _own_hosts(settings: Settings) -> frozenset[str] | None:
    """The ``Host`` names a server bound to loopback answers to; None when bound elsewhere.

    A page on any site can have its own name resolve to 127.0.0.1 (DNS
    rebinding): its requests then carry that name in ``Host`` and look
    same-origin.  Only loopback names, the bound address and the hosts of the
    allowed origins reach a loopback server.
    """
    if not is_loopback(settings.host):
        return None
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    hosts = {f"{name}{port}" for name in {*LOOPBACK_NAMES, host}
             for port in ("", f":{settings.port}")}
    for origin in settings.allowed_origins:
        if origin != "*":
            hosts |= _host_names(origin)
    return frozenset(hosts)


def _host_names(origin: str) -> set[str]:
    """``Host`` values naming ``origin``: its default port may be written out or not."""
    parts = urlsplit(origin)
    default = f"{parts.hostname}:{DEFAULT_PORTS[parts.scheme]}"
    return {parts.netloc, default} if parts.port is None else {parts.netloc}


class AccessPolicy:
    """The access rules of one server; also a Litestar guard for HTTP calls."""

    def __init__(self, settings: Settings) -> None:
        self._token = settings.access_token
        self._protect_reads = settings.protect_reads and self._token is not None
        self._origins = frozenset(settings.allowed_origins)
        self._hosts = _own_hosts(settings)

    @property
    def needs_token(self) -> bool:
        """Tell whether writes need a token at all."""
        return self._token is not None

    def allowed_hosts(self) -> AllowedHostsConfig | None:
        """Litestar's check that an HTTP request names this server (400 otherwise).

        A WebSocket handshake naming another host is refused by
        ``refuse_handshake`` instead, with the close code of every refusal.
        """
        if self._hosts is None:
            return None
        return AllowedHostsConfig(
            allowed_hosts=sorted(self._hosts), scopes={ScopeType.HTTP}, www_redirect=False
        )

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
        if scheme.lower() != "bearer":
            presented = connection.query_params.get("token", "") if query else ""
        return hmac.compare_digest(presented.strip().encode(), self._token.encode())

    def refuse_handshake(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
        """Return why a WebSocket handshake is refused, or None to accept it.

        A client without the token may still listen, unless reads are protected;
        one that shows a wrong token is refused outright.
        """
        host = connection.headers.get("host")
        if self._hosts is not None and host not in self._hosts:
            return f"host {host!r} is not a name of this server"
        if not self.is_allowed_origin(connection):
            return f"origin {connection.headers.get('origin')!r} is not allowed"
        shown = "authorization" in connection.headers or "token" in connection.query_params
        if (shown or self._protect_reads) and not self.has_token(connection, query=True):
            return "wrong or missing access token"
        return None

    def components(self) -> Components:
        """The OpenAPI components this policy needs: the bearer token, when there is one."""
        if self._token is None:
            return Components()
        scheme = SecurityScheme(type="http", scheme="bearer", description=NEEDS_TOKEN)
        return Components(security_schemes={SECURITY_SCHEME: scheme})

    def document(self, app: Litestar) -> None:
        """Add the refusals this policy makes, and where the token goes, to ``app``'s routes."""
        for route in app.routes:
            if isinstance(route, HTTPRoute):
                for handler in route.route_handlers:
                    self._document_handler(handler, route.path)

    def _document_handler(self, handler: HTTPRouteHandler, path: str) -> None:
        writes = any(_is_write(method) for method in handler.http_methods)
        refusals = {403: FOREIGN_ORIGIN} if writes else {}
        if self.needs_token and (writes or self._protects(path)):
            refusals[401] = NEEDS_TOKEN
            handler.security = [{SECURITY_SCHEME: []}]
        if refusals and handler.include_in_schema:
            handler.responses = {**error_responses(refusals), **(handler.responses or {})}

    def _protects(self, path: str) -> bool:
        return self._protect_reads and path.startswith(PROTECTED_READS)

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
    ) -> None:
        """Refuse a write from a foreign origin (403), or a call that needs the token (401)."""
        if not isinstance(connection, Request):
            return
        writes = _is_write(connection.method)
        if writes and not self.is_allowed_origin(connection):
            raise PermissionDeniedException(
                f"origin {connection.headers.get('origin')!r} may not write here; "
                "the server's --allowed-origins lists who may"
            )
        reads = connection.method != "OPTIONS" and self._protects(connection.scope["path"])
        if (writes or reads) and not self.has_token(connection, query=False):
            raise NotAuthorizedException(NEEDS_TOKEN)
