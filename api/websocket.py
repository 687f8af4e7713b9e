"""The live topic stream at ``/ws``: the handshake, and every session this process serves.

Close codes a client may see:

- 1008 at the handshake: a foreign origin, or a wrong or missing token;
- 1013 when it reads so slowly that its send queue fills (reconnect, catch up over REST);
- 1001 when the server shuts down;
- 1009 from uvicorn for a frame over four times the frame limit;
- 1011 from uvicorn when it stops answering pings.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar import WebSocket, websocket
from litestar.handlers import WebsocketRouteHandler

from api.access import AccessPolicy
from api.session import CLOSE_TIMEOUT, CLOSE_TOO_SLOW, Session, is_rfc3339
from workflow.engine import Engine
from workflow.settings import Settings

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_POLICY",
    "CLOSE_TOO_SLOW",
    "Session",
    "Sessions",
    "is_rfc3339",
    "websocket_handler",
]

CLOSE_POLICY = 1008
CLOSE_GOING_AWAY = 1001

logger = logging.getLogger(__name__)


class Sessions:
    """The sessions this process serves, so that a shutdown can close them all."""

    def __init__(self) -> None:
        self._running: dict[Session, asyncio.Task[Any]] = {}

    def __len__(self) -> int:
        return len(self._running)

    async def serve(self, session: Session) -> None:
        """Run ``session`` to its end, known to this registry meanwhile."""
        task = asyncio.current_task()
        assert task is not None
        self._running[session] = task
        try:
            await session.run()
        finally:
            del self._running[session]

    async def close_all(self) -> None:
        """Close every session with 1001 (going away); wait a moment for them to end."""
        if not self._running:
            return
        logger.info("closing %d WebSocket clients: server shutting down", len(self._running))
        for session in list(self._running):
            session.stop(CLOSE_GOING_AWAY, "server shutting down")
        await asyncio.wait(list(self._running.values()), timeout=CLOSE_TIMEOUT * 2)


def websocket_handler(
    engine: Engine, settings: Settings, access: AccessPolicy, sessions: Sessions
) -> WebsocketRouteHandler:
    """Return the ``/ws`` handler serving ``engine``'s topics."""

    @websocket("/ws")
    async def stream(socket: WebSocket[Any, Any, Any]) -> None:
        refusal = access.refuse_handshake(socket)
        if refusal is not None:
            logger.info("client from %s refused: %s", socket.client, refusal)
            # closing before accepting answers a bare HTTP 403; accepting first lets
            # every client, browsers included, read the 1008 and its reason
            await socket.accept()
            await socket.close(CLOSE_POLICY, refusal)
            return
        await socket.accept()
        address = socket.client
        session = Session(
            socket, engine,
            name=f"{address.host}:{address.port}" if address else "unknown",
            can_publish=access.has_token(socket, query=True),
            max_frame_size=settings.max_frame_size,
            queue_size=settings.send_queue_size,
        )
        logger.info("client %s: connected", session.name)
        try:
            await sessions.serve(session)
        finally:
            logger.info("client %s: disconnected", session.name)

    return stream
