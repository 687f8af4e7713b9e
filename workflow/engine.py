"""The engine: a plan's machine applied to stored runs, with every change announced.

A completion is applied where it enters the system: the run is read, moved
by the machine, and written back only if nobody wrote it in between (a
compare-and-set on its ``seq``).  Only then is anything published, as an
announcement the bus keeps while the backend is away: a stored change is
never answered as failed, nor left untold.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Mapping

import msgspec

from workflow.backends import Backend
from workflow.bus import Bus
from workflow.errors import (
    CompletionNotApplicable,
    InvalidCompletion,
    PluginError,
    RunExists,
    UnknownRun,
)
from workflow.machine import WorkflowMachine
from workflow.messages import ENGINE_PUBLISHER, Envelope, encode_json, timestamp
from workflow.plan import FINISHED, Plan
from workflow.plugin import Plugin
from workflow.records import RecordStore, open_record_stores
from workflow.runs import (
    DEFAULT_RUN,
    STEP_FAILED,
    Completion,
    Run,
    apply_completion,
    new_run,
    parse_completion,
    record_failure,
)
from workflow.steps import StepRunner
from workflow.topics import (
    ENGINE_TOPICS,
    SWITCH_ROUTE,
    WORKFLOW_COMPLETED,
    WORKFLOW_STARTED,
    WORKFLOW_UPDATED,
)

__all__ = ["Engine"]

MAX_ATTEMPTS = 5

logger = logging.getLogger(__name__)

_decode_run = msgspec.json.Decoder(Run).decode
_encode = msgspec.json.Encoder().encode


class Engine:
    """Runs of one plan on one backend, as seen from one server process."""

    def __init__(
        self,
        plan: Plan,
        backend: Backend,
        *,
        plugins: Mapping[str, Plugin] | None = None,
        step_lease: float = 30.0,
        sweep_interval: float = 10.0,
    ) -> None:
        self.plan = plan
        self.machine = WorkflowMachine(plan)
        self.backend = backend
        self.bus = Bus(backend)
        self.plugins = dict(plugins or {})
        self.records = open_record_stores(self.plugins.values(), backend, self.bus)
        #: What only the engine may publish: its own topics and every record change.
        self.announced_topics = ENGINE_TOPICS | {store.topic for store in self.records.values()}
        self.steps = StepRunner(
            self, self.plugins, lease=step_lease, sweep_interval=sweep_interval
        )

    async def start(self) -> None:
        """Connect the backend, make sure the default run exists, resume server-side steps."""
        await self.backend.start()
        if await self.backend.get_run(DEFAULT_RUN) is None:
            with contextlib.suppress(RunExists):  # another process created it first
                await self.create_run(DEFAULT_RUN)
        await self.steps.start()
        logger.info("engine started: plan %s, backend %s", self.plan.version, self.backend.name)
        if self.plan.general.update_from:
            logger.warning(
                "plan %s: update_from %s is not fetched; remote plans are not supported yet",
                self.plan.version, self.plan.general.update_from,
            )

    async def close(self) -> None:
        """Stop server-side steps and disconnect the backend."""
        await self.steps.close()
        await self.bus.close()
        await self.backend.close()

    def record_store(self, route: str, resource: str) -> RecordStore:
        """Return the store of ``resource`` of the plugin at ``route``; PluginError if none."""
        store = self.records.get((route, resource))
        if store is None:
            raise PluginError(f"no plugin at route {route!r} declares a resource {resource!r}")
        return store

    async def create_run(self, run_id: str | None = None) -> Run:
        """Store and announce a new run at the start state; RunExists if the id is taken."""
        run = new_run(run_id or uuid.uuid4().hex, self.machine)
        if not await self.backend.create_run(run.id, _encode(run)):
            raise RunExists(f"run {run.id!r} already exists")
        logger.info("run %s: created at %s", run.id, run.state)
        await self._announce(None, run, WORKFLOW_STARTED)
        return run

    async def get_run(self, run_id: str) -> Run:
        """Return the stored run; UnknownRun if there is none.

        The default run always exists: if the backend lost it (a Redis
        without persistence restarted), it is created again at the start.
        """
        data = await self.backend.get_run(run_id)
        if data is None and run_id == DEFAULT_RUN:
            logger.warning("run %s: not in the backend any more; starting it again", run_id)
            with contextlib.suppress(RunExists):
                return await self.create_run(DEFAULT_RUN)
            data = await self.backend.get_run(run_id)
        if data is None:
            raise UnknownRun(f"no run {run_id!r}")
        return _decode_run(data)

    async def list_runs(self) -> list[Run]:
        """Return every stored run, oldest first."""
        runs = [_decode_run(data) for data in await self.backend.list_runs()]
        return sorted(runs, key=lambda run: (run.started_at, run.id))

    async def publish(self, envelope: Envelope) -> Run | None:
        """Fan ``envelope`` out; a completion topic first advances its run.

        A refused completion raises CompletionRefused and is not published.
        Returns the advanced run for a completion, else None.
        """
        if not self.machine.is_completion_topic(envelope.topic):
            await self.bus.publish(envelope)
            return None
        completion = parse_completion(envelope.topic, envelope.payload, envelope.publisher_name)
        return await self.complete(completion, envelope=envelope)

    async def complete(self, completion: Completion, *, envelope: Envelope | None = None) -> Run:
        """Apply ``completion`` to its run exactly once, then publish it and the change.

        Raises CompletionRefused (InvalidCompletion, UnknownRun,
        CompletionNotApplicable) with the run unchanged.
        """
        # made before anything is stored: data that cannot be sent on is refused, not lost
        announcement = envelope or _completion_envelope(completion)
        for _ in range(MAX_ATTEMPTS):
            run = await self.get_run(completion.run)
            advanced = apply_completion(self.machine, run, completion)
            self._check_with_plugin(run.state, completion)
            if await self.backend.replace_run(run.id, _encode(advanced), expected_seq=run.seq):
                logger.info(
                    "run %s: %s -> %s on %s (%s, by %s)", run.id, run.state, advanced.state,
                    completion.topic, completion.status, completion.publisher,
                )
                await self.bus.announce(announcement)
                await self._announce(run, advanced, completion.topic)
                return advanced
        raise CompletionNotApplicable(
            f"run {completion.run!r} kept changing while {completion.topic!r} was applied; retry"
        )

    def _check_with_plugin(self, state: str, completion: Completion) -> None:
        plugin = self.plugins.get(state)
        if plugin is None or plugin.check_completion is None:
            return
        try:
            plugin.check_completion(completion)
        except ValueError as exc:
            # well-formed, so not a 400: the step will not take it as it stands
            raise CompletionNotApplicable(f"{state} refuses {completion.status!r}: {exc}") from exc

    async def record_failure(self, run: Run, reason: str, publisher: str) -> Run | None:
        """Write a failed step into ``run``'s history, unless the run has moved on since."""
        failed = record_failure(run, reason, publisher)
        if not await self.backend.replace_run(run.id, _encode(failed), expected_seq=run.seq):
            return None
        logger.warning("run %s: step %s failed: %s", run.id, run.state, reason)
        await self._announce(run, failed, STEP_FAILED)
        return failed

    async def retry_step(self, run_id: str) -> Run:
        """Run the server-side step of the run's current state again."""
        run = await self.get_run(run_id)
        await self.steps.retry(run)
        return run

    async def _announce(self, before: Run | None, after: Run, event: str) -> None:
        step = self.plan.step(after.state)
        route = step.route if step else None
        if after.id == DEFAULT_RUN and route is not None:
            await self._publish(SWITCH_ROUTE, f"/{route}/web")
        update = {
            "run": after.id,
            "state": after.state,
            "previous": before.state if before else None,
            "status": after.status,
            "seq": after.seq,
            "event": event,
            "route": route,
        }
        await self._publish(WORKFLOW_UPDATED, encode_json(update))
        if after.state == FINISHED:
            completed = {"run": after.id, "seq": after.seq}
            await self._publish(WORKFLOW_COMPLETED, encode_json(completed))
        elif event != STEP_FAILED:
            self.steps.entered(after)

    async def _publish(self, topic: str, payload: str) -> None:
        await self.bus.announce(Envelope(ENGINE_PUBLISHER, topic, payload, timestamp()))


def _completion_envelope(completion: Completion) -> Envelope:
    payload = {"status": completion.status, "run": completion.run, "data": completion.data}
    try:
        text = encode_json(payload)
    except RecursionError as exc:
        raise InvalidCompletion(f"{completion.topic}: data is nested too deeply") from exc
    return Envelope(completion.publisher, completion.topic, text, timestamp())
