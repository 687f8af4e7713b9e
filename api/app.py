"""The Litestar application: the engine of one plan wired to REST, WebSocket and pages."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.handlers import HTTPRouteHandler, WebsocketRouteHandler
from litestar.openapi import OpenAPIConfig

from api.access import AccessPolicy
from api.bodies import ClosedStructSchemas
from api.errors import EXCEPTION_HANDLERS, log_unexpected
from api.inspection import health_handler, workflow_router
from api.options import with_options
from api.resources import resource_router
from api.static import static_routes
from api.websocket import Sessions, websocket_handler
from workflow.backends import open_backend
from workflow.engine import Engine
from workflow.errors import PluginError
from workflow.plan import Plan, load_plan
from workflow.plugin import Plugin, check_resource_topics, load_plugin
from workflow.settings import Settings

__all__ = ["create_app"]

logger = logging.getLogger(__name__)

Route = HTTPRouteHandler | WebsocketRouteHandler | Router


def load_plugins(plan: Plan) -> dict[str, Plugin]:
    """Load every plugin of the plan, by state name (the plan refused reserved routes).

    Raises PluginError when a plugin cannot be loaded or its resources'
    topics clash with others of the flow.
    """
    plugins = {step.name: load_plugin(step) for step in plan.steps}
    clashes = check_resource_topics(plan, plugins.values())
    if clashes:
        raise PluginError("\n".join(clashes))
    return plugins


def _plugin_routers(plugins: Iterable[Plugin]) -> list[Router]:
    return [
        Router(f"/api/{p.route}", route_handlers=with_options(p.route_handlers), tags=[p.route])
        for p in plugins
        if p.route_handlers
    ]


def _routes(
    engine: Engine, settings: Settings, access: AccessPolicy, sessions: Sessions
) -> list[Route]:
    return [
        workflow_router(engine),
        health_handler(engine, detailed=not settings.protect_reads),
        websocket_handler(engine, settings, access, sessions),
        *(resource_router(store) for store in engine.records.values()),
        *_plugin_routers(engine.plugins.values()),
        *static_routes(engine.plan, settings.web_root),
    ]


def create_app(settings: Settings) -> Litestar:
    """Build the application for ``settings``; the engine starts with the app.

    Raises PlanError or PluginError when the plan or a plugin cannot be loaded.
    The engine is at ``app.state.engine``, the WebSocket sessions at ``app.state.sessions``.
    """
    plan = load_plan(settings.plan)
    engine = Engine(
        plan,
        open_backend(settings.redis_url, key_prefix=settings.key_prefix),
        plugins=load_plugins(plan),
    )
    access = AccessPolicy(settings)
    sessions = Sessions()
    openapi = OpenAPIConfig(
        title=f"{plan.general.product_family} workflow",
        version=plan.version,
        description="Plugin resources, workflow runs, and the server's health.",
        components=access.components(),
    )
    app = Litestar(
        route_handlers=_routes(engine, settings, access, sessions),
        on_startup=[engine.start],
        on_shutdown=[sessions.close_all, engine.close],
        guards=[access],
        allowed_hosts=access.allowed_hosts(),
        exception_handlers=EXCEPTION_HANDLERS,
        after_exception=[log_unexpected],
        request_max_body_size=settings.max_body_size,
        openapi_config=openapi,
        plugins=[ClosedStructSchemas(store.struct for store in engine.records.values())],
        logging_config=None,
        state=State({"engine": engine, "sessions": sessions}),
    )
    access.document(app)
    return app
