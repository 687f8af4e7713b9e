"""The terms step ends only with an acceptance."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow import CompletionNotApplicable
from workflow.testing import run_plugin

HERE = Path(__file__).resolve().parent


async def test_terms_accepted_completes_the_step() -> None:
    async with run_plugin(HERE) as step:
        run = await step.complete(data={"accepted": True})

    assert [(h.event, h.status) for h in run.history] == [("TermsCompleted", "completed")]


@pytest.mark.parametrize(
    ("status", "data", "reason"),
    [
        ("completed", None, "accept the terms to continue"),
        ("completed", {"accepted": "yes"}, "accept the terms to continue"),
        ("skipped", {"accepted": True}, "the terms cannot be skipped"),
    ],
)
async def test_terms_without_acceptance_are_refused(
    status: str, data: object, reason: str
) -> None:
    async with run_plugin(HERE) as step:
        with pytest.raises(CompletionNotApplicable, match=reason):
            await step.complete(status, data)

        run = await step.run()
        assert (run.state, run.seq) == ("plugin_terms", 0)


def test_terms_page_sends_the_acceptance() -> None:
    script = (HERE / "web" / "step-terms.js").read_text()

    assert "accepted: accept.checked" in script
