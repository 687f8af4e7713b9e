"""``workflow serve``: the application under uvicorn, configured from flags and environment.

On SIGTERM or SIGINT the server stops accepting, closes every WebSocket with
1001 (going away), lets requests in flight finish for a few seconds, stops
the engine and exits 0: a stop on request is a normal end.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import socket
from types import FrameType
from typing import NoReturn
from urllib.parse import unquote_plus

import uvicorn

from api.app import create_app
from api.websocket import Sessions
from workflow.backends import open_backend
from workflow.errors import BackendUnavailable, PlanError, PluginError
from workflow.settings import Settings, SettingsError, load_settings

__all__ = ["GracefulServer", "TokenMask", "run_serve", "uvicorn_options"]

#: Frames up to this many times the frame limit reach the app, which refuses them
#: politely (ProtocolError); larger ones make uvicorn close the connection (1009).
FRAME_HEADROOM = 4
#: Seconds requests in flight get to finish once a stop is asked for.
SHUTDOWN_GRACE = 3.0

logger = logging.getLogger(__name__)

#: A query parameter: its key (as sent, percent-encoded or not) and its value.
_QUERY_PARAMETER = re.compile(r"(?<=[?&])([^=&\s\"]*)=([^&\s\"]*)")


class TokenMask(logging.Filter):
    """Shows ``token=`` query values as ``***`` in a log record's arguments.

    uvicorn logs each WebSocket handshake and request with its query string,
    where a browser client passes the access token.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record's text arguments; keep every record."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                _QUERY_PARAMETER.sub(_mask_token, arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def _mask_token(parameter: re.Match[str]) -> str:
    """Mask the value of a ``token`` parameter, however its key is encoded."""
    key = parameter[1]
    # any case: TOKEN= authenticates nothing, but it is still the secret, mistyped
    return f"{key}=***" if unquote_plus(key).lower() == "token" else parameter[0]


class GracefulServer(uvicorn.Server):
    """uvicorn, closing the app's WebSockets with 1001 before it shuts connections down.

    uvicorn's own shutdown closes them with 1012 (service restart) and only
    then tells the app, so the app closes them first.
    """

    def __init__(self, config: uvicorn.Config, sessions: Sessions) -> None:
        super().__init__(config)
        self._sessions = sessions

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop accepting, close the WebSockets, then shut down as uvicorn does."""
        for server in self.servers:
            server.close()
        await self._sessions.close_all()
        await super().shutdown(sockets)


def _exit_stopped(signum: int, _: FrameType | None) -> NoReturn:
    # uvicorn raises the signal that stopped it again once it is done, which
    # would end the process by that signal; a stop on request ends it with 0.
    logger.info("serve: stopped by %s", signal.Signals(signum).name)
    raise SystemExit(0)


def uvicorn_options(settings: Settings) -> dict[str, object]:
    """Return how uvicorn must run the app for ``settings``.

    permessage-deflate is off: browsers ask for it, and it more than doubles
    the memory of an idle connection and the CPU of a small delivery.  Pings
    find clients that vanished without a close frame; 0 turns them off.
    """
    return {
        "host": settings.host,
        "port": settings.port,
        "ws": "websockets-sansio",
        "ws_per_message_deflate": False,
        "ws_max_size": settings.max_frame_size * FRAME_HEADROOM,
        "ws_ping_interval": settings.ws_ping_interval or None,
        "ws_ping_timeout": settings.ws_ping_timeout or None,
        "log_config": None,
        "lifespan": "on",
        "timeout_graceful_shutdown": SHUTDOWN_GRACE,
    }


async def _reach_backend(settings: Settings) -> None:
    """Connect to the backend once; BackendUnavailable names what failed."""
    backend = open_backend(settings.redis_url, key_prefix=settings.key_prefix)
    try:
        await backend.start()
    finally:
        await backend.close()


def _can_listen(host: str, port: int) -> OSError | None:
    """Return why ``host:port`` cannot be listened on, or None when it can."""
    try:
        with socket.create_server((host, port)):
            return None
    except OSError as exc:
        return exc


def run_serve(args: argparse.Namespace) -> int:
    """Serve until interrupted; return the exit code.

    2 for a bad setting, 1 for a bad plan, 3 when the backend cannot be
    reached, 4 when the address cannot be listened on.
    """
    try:
        settings = load_settings(vars(args), os.environ)
        app = create_app(settings)
    except SettingsError as exc:
        logger.error("serve: %s", exc)
        return 2
    except (PlanError, PluginError) as exc:
        for problem in str(exc).splitlines():
            logger.error("serve: %s", problem)
        return 1
    try:
        # uvicorn would report this from the lifespan as a page of traceback
        asyncio.run(_reach_backend(settings))
    except BackendUnavailable as exc:
        logger.error("serve: %s", exc)
        return 3
    refused = _can_listen(settings.host, settings.port)
    if refused is not None:
        logger.error("serve: cannot listen on %s:%d: %s", settings.host, settings.port,
                     refused.strerror or refused)
        return 4
    # The engine logs every transition itself; transitions' own step-by-step is noise here.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    logger.info(
        "serving %s on http://%s:%d (backend %s)",
        settings.plan, settings.host, settings.port, app.state.engine.backend.name,
    )
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(TokenMask())
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, _exit_stopped)
    config = uvicorn.Config(app, **uvicorn_options(settings))  # type: ignore[arg-type]
    GracefulServer(config, app.state.sessions).run()
    return 0
