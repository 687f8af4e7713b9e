"""Workflow inspection and control over REST (``/api/workflow``), and ``/healthz``."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Response, Router, get, post
from litestar.enums import MediaType
from litestar.exceptions import ClientException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery

from api.bodies import JSONBytes, OptionalBody, PassThroughDTO, decode_body, documented_as
from api.errors import TOO_LARGE, UNAVAILABLE, error_responses
from api.options import with_options
from workflow.engine import Engine
from workflow.errors import BackendUnavailable
from workflow.messages import is_engine_name
from workflow.plan import FINISHED, Plan
from workflow.runs import COMPLETION_STATUSES, DEFAULT_RUN, Completion, Run, RunStatus

__all__ = ["PlanView", "RunSummary", "health_handler", "workflow_router"]

logger = logging.getLogger(__name__)

RunId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]


class PlanState(msgspec.Struct):
    """A state of the plan; ``finished`` has no route and no completion topic."""

    name: str
    route: str | None
    completion_topic: str | None
    visible_in_ui: bool


class PlanTransition(msgspec.Struct):
    """An edge of the machine: ``trigger`` leads from ``source`` to ``dest``."""

    source: str
    trigger: str
    dest: str


class PlanView(msgspec.Struct):
    """The compiled plan: its states in walk order, ``finished`` last."""

    version: str
    start: str
    states: list[PlanState]
    transitions: list[PlanTransition]


class RunSummary(msgspec.Struct):
    """A run without its history."""

    id: str
    state: str
    status: RunStatus
    plan_version: str
    seq: int
    started_at: datetime
    updated_at: datetime


class NewRun(msgspec.Struct, forbid_unknown_fields=True):
    """The body creating a run; without ``id`` the server picks one."""

    id: RunId | None = None


class Event(msgspec.Struct, forbid_unknown_fields=True):
    """A completion sent over REST: ``topic`` ended with ``status``.

    Decoded loosely so the engine names a wrong topic or status itself; the
    OpenAPI document shows the plan's own choices (see ``event_schema``).
    """

    topic: str
    status: str
    data: Any = None
    publisher: str = "api"


class Health(msgspec.Struct, omit_defaults=True):
    """Whether this process and its backend answer."""

    status: Literal["ok", "unavailable"]
    backend: str
    detail: str | None = None


def event_schema(plan: Plan) -> type[msgspec.Struct]:
    """Return ``Event`` as the OpenAPI document shows it: the plan's topics, the two statuses."""
    topics = tuple(step.completion_topic for step in plan.steps)
    schema = msgspec.defstruct(
        "Event",
        [
            ("topic", Literal[topics]),
            ("status", Literal[tuple(sorted(COMPLETION_STATUSES))]),
            ("data", Any, None),
            ("publisher", str, "api"),
        ],
        forbid_unknown_fields=True,
        module=__name__,
    )
    schema.__doc__ = "A completion: the step whose completion ``topic`` ended, and how."
    return schema


def describe_plan(plan: Plan) -> PlanView:
    """Return the plan as ``GET /api/workflow/plan`` shows it."""
    states = [
        PlanState(step.name, step.route, step.completion_topic, step.visible_in_ui)
        for step in plan.steps
    ]
    states.append(PlanState(FINISHED, None, None, False))
    transitions = [PlanTransition(t.source, t.trigger, t.dest) for t in plan.transitions]
    return PlanView(plan.version, plan.start, states, transitions)


def summarise(run: Run) -> RunSummary:
    """Return ``run`` without its history."""
    return RunSummary(
        run.id, run.state, run.status, run.plan_version, run.seq, run.started_at, run.updated_at
    )


def _run_handlers(engine: Engine) -> list[HTTPRouteHandler]:
    @get("/runs", summary="List every run, without history",
         responses=error_responses(UNAVAILABLE))
    async def list_runs() -> list[RunSummary]:
        return [summarise(run) for run in await engine.list_runs()]

    @post(
        "/runs", summary="Create a run at the start state",
        dto=PassThroughDTO[NewRun], return_dto=None, operation_class=OptionalBody,
        responses=error_responses({
            400: "the body is malformed", 409: "a run with that id exists",
            **TOO_LARGE, **UNAVAILABLE,
        }),
    )
    async def create_run(data: JSONBytes = b"") -> Run:
        body = decode_body(data, NewRun) if data.strip() else NewRun()
        return await engine.create_run(body.id)

    @get("/runs/{run_id:str}", summary="Read a run, with its history",
         responses=error_responses({404: "no run has that id", **UNAVAILABLE}))
    async def read_run(run_id: FromPath[str]) -> Run:
        return await engine.get_run(run_id)

    @post(
        "/runs/{run_id:str}/events", summary="Apply a completion to a run", status_code=200,
        dto=documented_as(event_schema(engine.plan)), return_dto=None,
        responses=error_responses({
            400: "malformed body, unknown topic, or a status other than completed/skipped",
            404: "no run has that id",
            409: "valid, but the run is not where it applies (other state, finished)",
            **TOO_LARGE, **UNAVAILABLE,
        }),
    )
    async def apply_event(run_id: FromPath[str], data: JSONBytes = b"") -> Run:
        event = decode_body(data, Event)
        if is_engine_name(event.publisher):
            raise ClientException(f"publisher {event.publisher!r} is the engine's own name")
        completion = Completion(event.topic, event.status, run_id, event.publisher, event.data)
        return await engine.complete(completion)

    @post(
        "/runs/{run_id:str}/retry", summary="Run the server-side step of the run's state again",
        status_code=202,
        responses=error_responses({
            404: "no run has that id",
            409: "the run's state has no server-side step, or it is running",
            **UNAVAILABLE,
        }),
    )
    async def retry_step(run_id: FromPath[str]) -> Run:
        return await engine.retry_step(run_id)

    return [list_runs, create_run, read_run, apply_event, retry_step]


def _view_handlers(engine: Engine) -> list[HTTPRouteHandler]:
    plan = describe_plan(engine.plan)

    @get("/plan", summary="The compiled plan: states in walk order and transitions")
    async def read_plan() -> PlanView:
        return plan

    @get("/", summary="The default run, with its history", responses=error_responses(UNAVAILABLE))
    async def read_default_run() -> Run:
        return await engine.get_run(DEFAULT_RUN)

    @get(
        "/graph", summary="The plan as a Mermaid stateDiagram-v2, the run's state styled apart",
        media_type=MediaType.TEXT,
        responses=error_responses({404: "no run has that id", **UNAVAILABLE}),
    )
    async def draw_graph(run: FromQuery[str] = DEFAULT_RUN) -> str:
        return engine.machine.draw((await engine.get_run(run)).state)

    return [read_plan, read_default_run, draw_graph]


def workflow_router(engine: Engine) -> Router:
    """Return the ``/api/workflow`` routes of ``engine``."""
    handlers = [*_view_handlers(engine), *_run_handlers(engine)]
    return Router("/api/workflow", route_handlers=with_options(handlers), tags=["workflow"])


def health_handler(engine: Engine, *, detailed: bool = True) -> HTTPRouteHandler:
    """Return ``GET /healthz``: 200 when the backend answers, 503 when it does not.

    It needs no token, so unless ``detailed`` it names only the kind of
    backend, not its address nor why it failed (those go to the log).
    """
    backend = engine.backend.name if detailed else engine.backend.name.partition(":")[0]

    @get("/healthz", summary="Whether this process and its backend answer", tags=["health"],
         responses={503: ResponseSpec(data_container=Health, description="backend unavailable")})
    async def check_health() -> Response[Health]:
        try:
            await engine.backend.ping()
        except BackendUnavailable as exc:
            logger.warning("health: backend %s unavailable: %s", engine.backend.name, exc)
            detail = str(exc) if detailed else None
            return Response(Health("unavailable", backend, detail), status_code=503)
        return Response(Health("ok", backend))

    return check_health
