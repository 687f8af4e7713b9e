"""Runs: one walk through the plan, stored as a plain record.

A run carries ``seq``, which grows by one with every accepted transition and
doubles as the version a backend compares before it stores a new run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from workflow.errors import CompletionNotApplicable, InvalidCompletion
from workflow.machine import WorkflowMachine
from workflow.plan import FINISHED

__all__ = [
    "DEFAULT_RUN",
    "STEP_FAILED",
    "Completion",
    "HistoryEntry",
    "Run",
    "RunStatus",
    "apply_completion",
    "check_completion",
    "has_failed",
    "new_run",
    "now",
    "parse_completion",
    "record_failure",
]

DEFAULT_RUN = "default"
STEP_FAILED = "StepFailed"
COMPLETION_STATUSES = frozenset({"completed", "skipped"})

RunStatus = Literal["running", "finished"]


class HistoryEntry(msgspec.Struct, frozen=True, omit_defaults=True, rename={"from_": "from"}):
    """One accepted transition of a run, or a failed server-side step (``error`` set)."""

    from_: str
    to: str
    event: str
    status: str
    publisher: str
    at: datetime
    error: str | None = None


class Run(msgspec.Struct, frozen=True):
    """The state of one walk through the plan."""

    id: str
    state: str
    status: RunStatus
    plan_version: str
    seq: int
    started_at: datetime
    updated_at: datetime
    history: tuple[HistoryEntry, ...] = ()


class Completion(msgspec.Struct, frozen=True):
    """A completion message: a step of ``run`` ended with ``status``."""

    topic: str
    status: str
    run: str = DEFAULT_RUN
    publisher: str = "api"
    data: Any = None


class _Payload(msgspec.Struct, frozen=True):
    status: str
    run: str = DEFAULT_RUN
    data: Any = None


def now() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def new_run(run_id: str, machine: WorkflowMachine, *, at: datetime | None = None) -> Run:
    """Return a run that has just entered the start state."""
    at = at or now()
    return Run(
        id=run_id,
        state=machine.start,
        status="running",
        plan_version=machine.plan.version,
        seq=0,
        started_at=at,
        updated_at=at,
    )


def parse_completion(topic: str, payload: str | bytes, publisher: str) -> Completion:
    """Read a completion payload (JSON text) sent on ``topic``.

    Raises InvalidCompletion naming what is wrong with it.
    """
    try:
        body = msgspec.json.decode(payload, type=_Payload)
    except msgspec.ValidationError as exc:
        raise InvalidCompletion(f"payload is not a completion: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise InvalidCompletion(f"payload is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidCompletion("payload is nested too deeply") from exc
    return Completion(topic, body.status, body.run, publisher, body.data)


def apply_completion(
    machine: WorkflowMachine, run: Run, completion: Completion, *, at: datetime | None = None
) -> Run:
    """Return ``run`` advanced by ``completion``; ``run`` itself never changes.

    Raises InvalidCompletion for an unknown topic or status, and
    CompletionNotApplicable when the run is finished or in another state.
    """
    check_completion(machine, completion)
    if run.status == FINISHED or run.state == FINISHED:
        raise CompletionNotApplicable(f"run {run.id!r} is finished; nothing to complete")
    expected = machine.state_completed_by(completion.topic)
    if run.state != expected:
        raise CompletionNotApplicable(
            f"run {run.id!r} is in state {run.state!r}, not {expected!r} "
            f"which {completion.topic!r} completes"
        )
    dest = machine.next_state(run.state, completion.topic)
    return _advance(run, dest, completion, at or now())


def check_completion(machine: WorkflowMachine, completion: Completion) -> None:
    """Raise InvalidCompletion unless the message could ever apply to a run."""
    if not machine.is_completion_topic(completion.topic):
        raise InvalidCompletion(f"{completion.topic!r} is not the completion topic of any step")
    if completion.status not in COMPLETION_STATUSES:
        raise InvalidCompletion(
            f"status {completion.status!r} is not one of 'completed', 'skipped'"
        )


def record_failure(
    run: Run, reason: str, publisher: str, *, at: datetime | None = None
) -> Run:
    """Return ``run`` with a failed step recorded; it stays in its state."""
    failure = Completion(STEP_FAILED, "failed", run.id, publisher)
    return _advance(run, run.state, failure, at or now(), error=reason)


def has_failed(run: Run) -> bool:
    """Tell whether the last thing that happened to ``run`` is a failed step."""
    return bool(run.history) and run.history[-1].error is not None


def _advance(
    run: Run, dest: str, completion: Completion, at: datetime, *, error: str | None = None
) -> Run:
    entry = HistoryEntry(
        from_=run.state,
        to=dest,
        event=completion.topic,
        status=completion.status,
        publisher=completion.publisher,
        at=at,
        error=error,
    )
    return msgspec.structs.replace(
        run,
        state=dest,
        status="finished" if dest == FINISHED else "running",
        seq=run.seq + 1,
        updated_at=at,
        history=(*run.history, entry),
    )
