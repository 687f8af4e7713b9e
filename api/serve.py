"""``workflow serve``: the application under uvicorn, configured from flags and environment."""

from __future__ import annotations

import argparse
import logging
import os

import uvicorn

from api.app import create_app
from workflow.errors import PlanError, PluginError
from workflow.settings import Settings, SettingsError, load_settings

__all__ = ["run_serve", "uvicorn_options"]

#: Frames up to this many times the frame limit reach the app, which refuses them
#: politely (ProtocolError); larger ones make uvicorn close the connection (1009).
FRAME_HEADROOM = 4

logger = logging.getLogger(__name__)


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
    }


def run_serve(args: argparse.Namespace) -> int:
    """Serve until interrupted; return the exit code (2 bad setting, 1 bad plan)."""
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
    # The engine logs every transition itself; transitions' own step-by-step is noise here.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    logger.info(
        "serving %s on http://%s:%d (backend %s)",
        settings.plan, settings.host, settings.port, app.state.engine.backend.name,
    )
    uvicorn.run(app, **uvicorn_options(settings))  # type: ignore[arg-type]
    return 0
