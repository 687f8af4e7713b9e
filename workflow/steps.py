"""Running server-side steps: each entry of a run into a step runs its coroutine once.

An entry is named by the run and the ``seq`` it entered with.  Before running
the coroutine a process claims that entry in the backend for a short lease,
renewed while the coroutine runs, so no two processes run the same entry; a
process that dies loses its lease, and a sweep on any process picks the entry
up again.  A failure is written into the run's history, which moves ``seq`` on,
so a failed entry is never retried by the sweep, only on request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

from workflow.errors import CompletionNotApplicable, CompletionRefused, WorkflowError
from workflow.plugin import Plugin
from workflow.runs import Run, has_failed
from workflow.step import StepContext

if TYPE_CHECKING:
    from workflow.engine import Engine

__all__ = ["StepRunner"]

DONE_TTL = 3600.0
#: A lease this short is as good as let go (Redis counts leases in milliseconds).
RELEASE_TTL = 0.001

logger = logging.getLogger(__name__)


class StepRunner:
    """Starts, supervises and recovers the server-side steps of one process."""

    def __init__(
        self,
        engine: Engine,
        plugins: Mapping[str, Plugin],
        *,
        lease: float = 30.0,
        sweep_interval: float = 10.0,
    ) -> None:
        self._engine = engine
        self._plugins = {state: p for state, p in plugins.items() if p.on_enter is not None}
        self._lease = lease
        self._sweep_interval = sweep_interval
        self._owner = uuid.uuid4().hex
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None

    def has_step(self, state: str) -> bool:
        """Tell whether entering ``state`` runs a server-side step."""
        return state in self._plugins

    async def start(self) -> None:
        """Pick up every entry left unfinished, and keep sweeping for more."""
        if self._plugins:
            await self.sweep()
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="step-sweeper")

    async def close(self) -> None:
        """Cancel the sweep and every step still running here, and hand their entries on.

        Their leases are let go at once, so the next process (or this one,
        restarted) runs them again without waiting for the leases to run out.
        """
        held, self._held = set(self._held), set()
        tasks = [*self._tasks, *([self._sweeper] if self._sweeper else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for key in held:
            with contextlib.suppress(WorkflowError):
                await self._engine.backend.claim(key, self._owner, RELEASE_TTL, renew=True)

    def entered(self, run: Run) -> None:
        """Start the step ``run`` has just entered, if it has one and did not fail there."""
        if self.has_step(run.state) and not has_failed(run) and run.status == "running":
            self._spawn(run)

    async def retry(self, run: Run) -> None:
        """Run the step of ``run``'s state again; CompletionNotApplicable if it cannot be."""
        if not self.has_step(run.state):
            raise CompletionNotApplicable(
                f"run {run.id!r} is in state {run.state!r}, which has no server-side step"
            )
        if not await self._claim(run):
            raise CompletionNotApplicable(f"run {run.id!r}: the step {run.state!r} is running")
        self._track(asyncio.create_task(self._run_claimed(run)))

    async def sweep(self) -> None:
        """Start every entry that no live process holds."""
        for run in await self._engine.list_runs():
            self.entered(run)

    def _spawn(self, run: Run) -> None:
        self._track(asyncio.create_task(self._run(run), name=f"step-{run.id}-{run.seq}"))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval)
            try:
                await self.sweep()
            except WorkflowError as exc:
                logger.warning("step sweep failed: %s", exc)

    def _key(self, run: Run) -> str:
        return f"{run.id}:{run.seq}"

    async def _claim(self, run: Run) -> bool:
        return await self._engine.backend.claim(self._key(run), self._owner, self._lease)

    async def _run(self, run: Run) -> None:
        try:
            claimed = await self._claim(run)
        except WorkflowError as exc:
            logger.warning("run %s: cannot claim step %s: %s", run.id, run.state, exc)
            return
        if claimed:
            await self._run_claimed(run)

    async def _run_claimed(self, run: Run) -> None:
        plugin = self._plugins[run.state]
        renewer = asyncio.create_task(self._renew(run))
        self._held.add(self._key(run))
        try:
            reason = await self._call(plugin, run)
        finally:
            renewer.cancel()
        self._held.discard(self._key(run))
        await self._settle(run, plugin, reason)

    async def _call(self, plugin: Plugin, run: Run) -> str | None:
        """Run the coroutine; return why the step failed, or None when it ended."""
        assert plugin.on_enter is not None
        step = self._engine.plan.step(run.state)
        assert step is not None
        context = StepContext(self._engine, run, plugin, step.completion_topic)
        logger.info("run %s: step %s started (seq %d)", run.id, run.state, run.seq)
        try:
            await plugin.on_enter(context)
        except CompletionRefused as exc:
            return f"the step's completion was refused: {exc}"
        except Exception as exc:
            logger.debug("run %s: step %s raised", run.id, run.state, exc_info=True)
            return f"{type(exc).__name__}: {exc}"
        return None if context.ended else "the step returned without completing or skipping"

    async def _settle(self, run: Run, plugin: Plugin, reason: str | None) -> None:
        with contextlib.suppress(WorkflowError):
            await self._engine.backend.claim(self._key(run), self._owner, DONE_TTL, renew=True)
        if reason is not None:
            await self._engine.record_failure(run, reason, plugin.name)

    async def _renew(self, run: Run) -> None:
        while True:
            await asyncio.sleep(self._lease / 3)
            key = self._key(run)
            try:
                await self._engine.backend.claim(key, self._owner, self._lease, renew=True)
            except WorkflowError as exc:
                logger.warning("run %s: cannot renew the lease of %s: %s", run.id, run.state, exc)
