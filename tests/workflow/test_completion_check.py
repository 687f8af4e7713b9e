"""A plugin's completion check: a refused completion leaves the run where it was."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.workflow.plans import plugin_entry, write_plan
from workflow.backends import Backend
from workflow.engine import Engine
from workflow.errors import CompletionNotApplicable
from workflow.plan import load_plan
from workflow.plugin import Plugin
from workflow.runs import Completion


def must_accept(completion: Completion) -> None:
    data = completion.data if isinstance(completion.data, dict) else {}
    if completion.status != "completed" or data.get("accepted") is not True:
        raise ValueError("accept the terms first")


@pytest.fixture
async def engine(tmp_path: Path, backend: Backend) -> AsyncIterator[Engine]:
    plan = load_plan(write_plan(tmp_path, [plugin_entry("terms"), plugin_entry("after")]))
    plugin = Plugin(name="terms", route="terms", check_completion=must_accept)
    started = Engine(plan, backend, plugins={"terms": plugin})
    await started.start()
    yield started
    await started.close()


@pytest.mark.parametrize(
    ("status", "data"),
    [("completed", None), ("completed", {"accepted": False}), ("skipped", {"accepted": True})],
)
async def test_completion_check_refusal_names_the_reason_and_keeps_the_run(
    engine: Engine, status: str, data: object
) -> None:
    with pytest.raises(CompletionNotApplicable, match=r"terms refuses .*: accept the terms first"):
        await engine.complete(Completion("TermsCompleted", status, data=data))

    run = await engine.get_run("default")
    assert (run.state, run.seq, run.history) == ("terms", 0, ())


async def test_completion_check_lets_an_accepted_completion_through(engine: Engine) -> None:
    run = await engine.complete(Completion("TermsCompleted", "completed", data={"accepted": True}))

    assert (run.state, run.seq) == ("after", 1)


async def test_completion_check_comes_after_the_state_check(engine: Engine) -> None:
    await engine.complete(Completion("TermsCompleted", "completed", data={"accepted": True}))

    with pytest.raises(CompletionNotApplicable, match="is in state 'after'"):
        await engine.complete(Completion("TermsCompleted", "completed"))
