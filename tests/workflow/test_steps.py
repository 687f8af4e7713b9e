"""Server-side steps: run once per entry, failures recorded and retried, resumed after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.workflow.conftest import OpenBackend
from tests.workflow.plans import plugin_entry, write_plan
from workflow.backends import Backend
from workflow.engine import Engine
from workflow.errors import CompletionNotApplicable
from workflow.plan import FINISHED, Plan, load_plan
from workflow.plugin import Plugin
from workflow.runs import STEP_FAILED, Completion, Run
from workflow.step import StepContext

Handler = Callable[[StepContext], Awaitable[None]]
MakeEngine = Callable[..., Awaitable[Engine]]


@pytest.fixture
def headless_plan(tmp_path: Path) -> Plan:
    """welcome (a page) -> check (server-side) -> finish (a page)."""
    entries = [
        plugin_entry("welcome"),
        plugin_entry("check", visible_in_ui=False),
        plugin_entry("finish"),
    ]
    return load_plan(write_plan(tmp_path, entries))


@pytest.fixture
async def make_engine(headless_plan: Plan) -> AsyncIterator[MakeEngine]:
    """Start engines whose ``check`` step runs ``handler``; all are closed at the end."""
    engines: list[Engine] = []

    async def make(backend: Backend, handler: Handler, **options: float) -> Engine:
        plugin = Plugin(name="check", route="check", on_enter=handler)
        engine = Engine(headless_plan, backend, plugins={"check": plugin}, **options)
        await engine.start()
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        await engine.close()


async def wait_for_run(engine: Engine, until: Callable[[Run], bool], within: float = 5) -> Run:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        run = await engine.get_run("default")
        if until(run):
            return run
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"run stayed at {run.state} (seq {run.seq}, {run.history})")
        await asyncio.sleep(0.02)


async def enter_check(engine: Engine) -> None:
    await engine.complete(Completion("WelcomeCompleted", "completed", publisher="tester"))


async def test_step_completes_itself_and_the_run_moves_on(
    backend: Backend, make_engine: MakeEngine
) -> None:
    async def check(context: StepContext) -> None:
        await context.complete({"checked": True})

    engine = await make_engine(backend, check)
    await enter_check(engine)

    run = await wait_for_run(engine, lambda run: run.state == "finish")
    assert [(h.from_, h.event, h.status, h.publisher) for h in run.history] == [
        ("welcome", "WelcomeCompleted", "completed", "tester"),
        ("check", "CheckCompleted", "completed", "check"),
    ]


async def test_step_failure_is_recorded_and_the_run_stays(
    backend: Backend, make_engine: MakeEngine
) -> None:
    async def check(context: StepContext) -> None:
        raise RuntimeError("device not found")

    engine = await make_engine(backend, check)
    await enter_check(engine)

    run = await wait_for_run(engine, lambda run: run.seq == 2)
    failure = run.history[-1]
    assert (run.state, run.status) == ("check", "running")
    assert (failure.from_, failure.to, failure.event, failure.status) == (
        "check",
        "check",
        STEP_FAILED,
        "failed",
    )
    assert failure.error == "RuntimeError: device not found"


async def test_step_returning_without_ending_counts_as_failed(
    backend: Backend, make_engine: MakeEngine
) -> None:
    async def check(context: StepContext) -> None:
        return None

    engine = await make_engine(backend, check)
    await enter_check(engine)

    run = await wait_for_run(engine, lambda run: run.seq == 2)
    assert run.history[-1].error == "the step returned without completing or skipping"


async def test_step_failed_is_not_retried_by_the_sweep_but_on_request(
    backend: Backend, make_engine: MakeEngine
) -> None:
    calls = 0

    async def check(context: StepContext) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("flaky")
        await context.skip()

    engine = await make_engine(backend, check, sweep_interval=0.05)
    await enter_check(engine)
    await wait_for_run(engine, lambda run: run.seq == 2)
    await asyncio.sleep(0.3)  # several sweeps
    assert calls == 1

    await engine.retry_step("default")

    run = await wait_for_run(engine, lambda run: run.state == "finish")
    assert calls == 2
    assert run.history[-1].status == "skipped"


async def test_step_retry_refused_where_there_is_no_step(
    backend: Backend, make_engine: MakeEngine
) -> None:
    async def check(context: StepContext) -> None:
        await context.complete()

    engine = await make_engine(backend, check)

    with pytest.raises(CompletionNotApplicable, match="has no server-side step"):
        await engine.retry_step("default")


async def test_step_runs_once_per_entry_across_engines(
    backend: Backend, reopen: OpenBackend, make_engine: MakeEngine
) -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    calls = 0

    async def check(context: StepContext) -> None:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        await context.complete()

    first = await make_engine(backend, check, sweep_interval=0.05)
    await make_engine(await reopen(), check, sweep_interval=0.05)  # another process, sweeping
    await enter_check(first)
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.sleep(0.3)  # both engines sweep meanwhile
    release.set()

    run = await wait_for_run(first, lambda run: run.state == "finish")
    assert calls == 1
    assert [h.event for h in run.history] == ["WelcomeCompleted", "CheckCompleted"]


class Hanging:
    """A step that starts and never ends, as one cut short by a stop or a crash."""

    def __init__(self) -> None:
        self.started = asyncio.Event()

    async def __call__(self, context: StepContext) -> None:
        self.started.set()
        await asyncio.Event().wait()


async def completes(context: StepContext) -> None:
    await context.complete()


async def test_step_unfinished_is_resumed_after_a_restart(
    backend: Backend, reopen: OpenBackend, make_engine: MakeEngine
) -> None:
    hang = Hanging()

    crashed = await make_engine(backend, hang, step_lease=0.5)
    await enter_check(crashed)
    await asyncio.wait_for(hang.started.wait(), 5)
    for task in asyncio.all_tasks():  # the process dies: its step stops, its lease runs out
        if task.get_name().startswith("step-default-"):
            task.cancel()
    await crashed.steps.close()

    restarted = await make_engine(await reopen(), completes, step_lease=0.5, sweep_interval=0.1)

    run = await wait_for_run(restarted, lambda run: run.state == "finish")
    assert [h.event for h in run.history] == ["WelcomeCompleted", "CheckCompleted"]


async def test_step_entered_at_finish_of_the_walk_reaches_finished(
    backend: Backend, make_engine: MakeEngine
) -> None:
    async def check(context: StepContext) -> None:
        await context.complete()

    engine = await make_engine(backend, check)
    await enter_check(engine)
    await wait_for_run(engine, lambda run: run.state == "finish")

    run = await engine.complete(Completion("FinishCompleted", "completed"))

    assert run.state == FINISHED


async def test_step_cut_short_by_a_clean_stop_is_resumed_without_waiting_for_its_lease(
    backend: Backend, reopen: OpenBackend, make_engine: MakeEngine
) -> None:
    hang = Hanging()

    stopped = await make_engine(backend, hang, step_lease=30)
    await enter_check(stopped)
    await asyncio.wait_for(hang.started.wait(), 5)
    await stopped.steps.close()  # a stop on request hands the entry on at once

    restarted = await make_engine(await reopen(), completes, step_lease=30, sweep_interval=0.1)

    run = await wait_for_run(restarted, lambda run: run.state == "finish", within=3)
    assert [h.event for h in run.history] == ["WelcomeCompleted", "CheckCompleted"]
