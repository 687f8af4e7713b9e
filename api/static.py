"""The web shell and the plugins' step pages, served as static files.

``/`` is the shell, ``/inspect`` the run inspector, ``/shell/*`` their
assets, ``/<route>/web`` the shell again (where ``SwitchRoute`` points), and
``/<route>/web/*`` each plugin's own ``web`` folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

from litestar import Router, get
from litestar.enums import MediaType
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.response import File
from litestar.static_files import create_static_files_router

from workflow.plan import Plan

__all__ = ["static_routes"]

logger = logging.getLogger(__name__)


def _page(path: str, file: Path, summary: str) -> HTTPRouteHandler:
    @get(path, summary=summary, include_in_schema=False, name=f"page:{path}")
    async def serve_page() -> File:
        if not file.is_file():
            raise NotFoundException(f"{file.name} is not installed")
        return File(file, content_disposition_type="inline", media_type=MediaType.HTML)

    return serve_page


def static_routes(plan: Plan, web_root: Path) -> list[HTTPRouteHandler | Router]:
    """Return the routes of the shell pages, their assets, and every plugin's pages."""
    routes: list[HTTPRouteHandler | Router] = [
        _page("/", web_root / "index.html", "The web shell"),
        _page("/inspect", web_root / "inspect.html", "The run inspector"),
        create_static_files_router("/shell", [web_root], name="shell"),
    ]
    for step in plan.steps:
        folder = step.folder / "web"
        # SwitchRoute names /<route>/web: a client that goes there gets the shell,
        # which shows the step the run is in
        routes.append(_page(f"/{step.route}/web", web_root / "index.html", "A step's page"))
        if folder.is_dir():
            routes.append(create_static_files_router(
                f"/{step.route}/web", [folder], name=f"plugin:{step.name}"
            ))
        elif step.visible_in_ui:
            logger.warning("plugin %s: visible in the UI but has no web folder", step.name)
    return routes
