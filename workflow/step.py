"""What a server-side step receives: its run, record stores, and a way to end the step."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from workflow.runs import Completion, Run

if TYPE_CHECKING:
    from workflow.plugin import Plugin
    from workflow.records import RecordStore

__all__ = ["StepContext"]


class _Engine(Protocol):
    async def complete(self, completion: Completion) -> Run: ...

    def record_store(self, route: str, resource: str) -> RecordStore: ...


class StepContext:
    """Handed to a plugin's ``on_enter`` coroutine when a run enters its step.

    The step ends when the coroutine calls :meth:`complete` or :meth:`skip`;
    if it raises, or returns without either, the failure is recorded in the
    run's history and the run stays in the step until it is retried.
    """

    def __init__(self, engine: _Engine, run: Run, plugin: Plugin, topic: str) -> None:
        self._engine = engine
        self.run = run
        self.plugin = plugin
        self.topic = topic
        self.ended = False

    def records(self, resource: str, *, route: str | None = None) -> RecordStore:
        """Return the record store of ``resource``, of this plugin or of ``route``'s."""
        return self._engine.record_store(route or self.plugin.route, resource)

    async def complete(self, data: Any = None) -> Run:
        """End the step as completed; returns the advanced run."""
        return await self._end("completed", data)

    async def skip(self, data: Any = None) -> Run:
        """End the step as skipped; returns the advanced run."""
        return await self._end("skipped", data)

    async def _end(self, status: str, data: Any) -> Run:
        completion = Completion(self.topic, status, self.run.id, self.plugin.name, data)
        self.run = await self._engine.complete(completion)
        self.ended = True
        return self.run
