"""Testing a plugin on its own: its step as a one-step flow on the memory backend.

async with run_plugin(Path(__file__).parent) as step:
    run = await step.complete()          # a page step: as if its page published
    run = await step.wait_until_left()   # a server-side step: it ends by itself
    store = step.records("device")       # the plugin's record stores

async with run_plugin(HERE, uses=[HERE.parent / "plugin_provisioning"]) as step:
    await step.records("device", route="provision").create({...})  # another plugin's
"""

from __future__ import annotations

import asyncio
import dataclasses
import tempfile
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from workflow.backends import MemoryBackend
from workflow.engine import Engine
from workflow.plan import Step, load_plan
from workflow.plugin import Plugin, read_plugin
from workflow.records import RecordStore
from workflow.runs import DEFAULT_RUN, Completion, Run

__all__ = ["PluginHarness", "run_plugin"]


class PluginHarness:
    """One plugin's step, running in an engine of its own."""

    def __init__(self, engine: Engine, step: Step) -> None:
        self.engine = engine
        self.step = step
        self._seen_seq = 0  # the seq of the last run wait_until_left returned

    async def run(self) -> Run:
        """Return the run as it is stored now."""
        return await self.engine.get_run(DEFAULT_RUN)

    async def complete(self, status: str = "completed", data: Any = None) -> Run:
        """Send the step's completion topic, as its page would, and return the run."""
        completion = Completion(self.step.completion_topic, status, DEFAULT_RUN, "test", data)
        return await self.engine.complete(completion)

    async def wait_until_left(self, timeout: float = 5.0) -> Run:
        """Wait until the run has left the step, or its server-side step failed.

        A failure already returned once does not count again, so after a
        retry this waits for the outcome of the retry.
        """
        async with asyncio.timeout(timeout):
            while True:
                run = await self.run()
                failed = bool(run.history and run.history[-1].error)
                if run.seq > self._seen_seq and (run.state != self.step.name or failed):
                    self._seen_seq = run.seq
                    return run
                await asyncio.sleep(0.01)

    def records(self, resource: str, *, route: str | None = None) -> RecordStore:
        """Return the store of ``resource``, of this plugin or of the used plugin at ``route``."""
        return self.engine.record_store(route or self.step.route, resource)


@asynccontextmanager
async def run_plugin(
    folder: str | Path,
    *,
    completion_topic: str | None = None,
    uses: Iterable[str | Path] = (),
) -> AsyncIterator[PluginHarness]:
    """Run the plugin in ``folder`` as the only step of a plan, on the memory backend.

    ``completion_topic`` is the plan's ``completed_event_name``, for a plugin
    whose topic is not the default one of its route.  ``uses`` names the
    folders of other plugins whose record stores the step reads or writes:
    their resources are served, their steps are not run.
    """
    folder = Path(folder).resolve()
    with tempfile.TemporaryDirectory() as scratch:
        plugin = read_plugin(folder)
        plan = load_plan(_write_plan(Path(scratch), folder, plugin, completion_topic))
        step = plan.steps[0]
        others = [_without_step(read_plugin(Path(other).resolve())) for other in uses]
        plugins = {other.name: other for other in others} | {step.name: plugin}
        engine = Engine(plan, MemoryBackend(), plugins=plugins)
        await engine.start()
        try:
            yield PluginHarness(engine, step)
        finally:
            await engine.close()


def _without_step(plugin: Plugin) -> Plugin:
    """The plugin as a holder of resources only: no step of the plan runs its code."""
    return dataclasses.replace(plugin, on_enter=None, check_completion=None)


def _write_plan(scratch: Path, folder: Path, plugin: Plugin, topic: str | None) -> Path:
    path = scratch / "execution_plan.toml"
    completion = f'completed_event_name = "{topic}"\n' if topic else ""
    path.write_text(
        '[general]\nproduct_family = "plugin-test"\nexecution_plan_version = "0"\n\n'
        f'[[plugins]]\nname = "{plugin.name}"\nplugin_route = "{plugin.route}"\nversion = "0"\n'
        f'plugin_base_path = "{folder.parent.as_posix()}"\n{completion}'
    )
    return path
