"""Applying completions to runs: a full walk, every refusal, and properties over generated plans."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.workflow.plans import plugin_entry, write_plan
from workflow.errors import CompletionNotApplicable, InvalidCompletion
from workflow.machine import WorkflowMachine
from workflow.plan import FINISHED, load_plan
from workflow.runs import Completion, Run, apply_completion, new_run, parse_completion


@pytest.fixture(scope="module")
def machine(tmp_path_factory: pytest.TempPathFactory) -> WorkflowMachine:
    """An onboarding flow like the shipped one, pinned here so the shipped one may change."""
    entries = [
        plugin_entry("plugin_welcome", "welcome"),
        plugin_entry("plugin_terms", "terms"),
        plugin_entry("plugin_provisioning", "provision", completed_event_name="DeviceCompleted"),
        plugin_entry("plugin_verify", "verify", visible_in_ui=False),
        plugin_entry("plugin_notifications", "notifications"),
        plugin_entry("plugin_finish", "finish"),
    ]
    return WorkflowMachine(load_plan(write_plan(tmp_path_factory.mktemp("plan"), entries)))


def walk(machine: WorkflowMachine, run: Run, *steps: tuple[str, str]) -> Run:
    for topic, status in steps:
        run = apply_completion(machine, run, Completion(topic, status, publisher="tester"))
    return run


def test_run_full_walk_with_completed_and_skipped_reaches_finished(
    machine: WorkflowMachine,
) -> None:
    run = walk(
        machine,
        new_run("default", machine),
        ("WelcomeCompleted", "completed"),
        ("TermsCompleted", "completed"),
        ("DeviceCompleted", "skipped"),
        ("VerifyCompleted", "skipped"),
        ("NotificationsCompleted", "skipped"),
        ("FinishCompleted", "completed"),
    )

    assert (run.state, run.status, run.seq) == (FINISHED, "finished", 6)
    assert [(h.from_, h.to, h.event, h.status) for h in run.history] == [
        ("plugin_welcome", "plugin_terms", "WelcomeCompleted", "completed"),
        ("plugin_terms", "plugin_provisioning", "TermsCompleted", "completed"),
        ("plugin_provisioning", "plugin_verify", "DeviceCompleted", "skipped"),
        ("plugin_verify", "plugin_notifications", "VerifyCompleted", "skipped"),
        ("plugin_notifications", "plugin_finish", "NotificationsCompleted", "skipped"),
        ("plugin_finish", FINISHED, "FinishCompleted", "completed"),
    ]
    assert {h.publisher for h in run.history} == {"tester"}
    assert all(a.at <= b.at for a, b in zip(run.history, run.history[1:], strict=False))


def test_run_encodes_history_with_the_contract_keys(machine: WorkflowMachine) -> None:
    run = walk(machine, new_run("r1", machine), ("WelcomeCompleted", "completed"))

    encoded = msgspec.json.decode(msgspec.json.encode(run))

    assert set(encoded) == {
        "id",
        "state",
        "status",
        "plan_version",
        "seq",
        "history",
        "started_at",
        "updated_at",
    }
    assert set(encoded["history"][0]) == {"from", "to", "event", "status", "publisher", "at"}
    assert msgspec.json.decode(msgspec.json.encode(run), type=Run) == run


@pytest.mark.parametrize(
    ("completion", "error", "reason"),
    [
        (Completion("NoSuchTopic", "completed"), InvalidCompletion, "not the completion topic"),
        (Completion("WelcomeCompleted", "done"), InvalidCompletion, "status 'done'"),
        (Completion("TermsCompleted", "completed"), CompletionNotApplicable, "is in state"),
    ],
    ids=["unknown-topic", "bad-status", "wrong-state"],
)
def test_run_refusals_leave_the_run_unchanged(
    machine: WorkflowMachine, completion: Completion, error: type[Exception], reason: str
) -> None:
    run = new_run("default", machine)
    before = msgspec.json.encode(run)

    with pytest.raises(error, match=reason):
        apply_completion(machine, run, completion)

    assert msgspec.json.encode(run) == before


def test_run_finished_refuses_every_completion(machine: WorkflowMachine) -> None:
    run = walk(
        machine,
        new_run("default", machine),
        *[(step.completion_topic, "completed") for step in machine.plan.steps],
    )

    with pytest.raises(CompletionNotApplicable, match="is finished"):
        apply_completion(machine, run, Completion("FinishCompleted", "completed"))
    assert run.seq == len(machine.plan.steps)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("not json", "not JSON"),
        ('"completed"', "not a completion"),
        ('{"data": 1}', "not a completion"),
        ('{"status": 3}', "not a completion"),
        ('{"status": "completed", "data": ' + "[" * 5000 + "]" * 5000 + "}", "too deeply"),
    ],
)
def test_parse_completion_refuses_malformed_payloads(payload: str, reason: str) -> None:
    with pytest.raises(InvalidCompletion, match=reason):
        parse_completion("DeviceCompleted", payload, "client")


def test_parse_completion_reads_run_and_data() -> None:
    completion = parse_completion(
        "DeviceCompleted", '{"status": "skipped", "run": "r2", "data": {"x": 1}}', "client"
    )

    assert completion == Completion("DeviceCompleted", "skipped", "r2", "client", {"x": 1})


def test_machine_keeps_no_model_per_run(machine: WorkflowMachine) -> None:
    models_before = len(machine._machine.models)

    for index in range(10_000):
        walk(machine, new_run(f"r{index}", machine), ("WelcomeCompleted", "completed"))

    assert len(machine._machine.models) == models_before == 1


def test_machine_draws_mermaid_with_the_current_state_marked(machine: WorkflowMachine) -> None:
    text = machine.draw("plugin_terms")

    family = machine.plan.general.product_family
    assert text.startswith(f"---\ntitle: {family} {machine.plan.version}\n---\nstateDiagram-v2")
    assert "plugin_terms s_active" in text
    assert "plugin_welcome s_active" not in text
    assert "plugin_provisioning --> plugin_verify: DeviceCompleted" in text


# Generated plans: a chain of 1-8 plugins, some with explicit event names.

names = st.lists(st.text("abcdefghij", min_size=1, max_size=6), min_size=1, max_size=8, unique=True)


@st.composite
def plans(draw: st.DrawFn, folder: Path) -> WorkflowMachine:
    chosen = draw(names)
    entries = []
    for index, name in enumerate(chosen):
        fields = {}
        if draw(st.booleans()):
            fields["completed_event_name"] = f"{name.capitalize()}Done"
        if index > 0 and draw(st.booleans()):
            previous = entries[-1]
            fields["run_after_event_name"] = previous.get(
                "completed_event_name", previous["plugin_route"].capitalize() + "Completed"
            )
        entries.append(plugin_entry(name, name, **fields))
    order = draw(st.permutations(range(len(entries))))
    explicit = [entries[i] for i in order] if _all_explicit(entries) else entries
    target = folder / "-".join(chosen)
    return WorkflowMachine(load_plan(write_plan(target, explicit)))


def _all_explicit(entries: list[dict[str, object]]) -> bool:
    return all("run_after_event_name" in e for e in entries[1:])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_generated_plans_finish_after_one_completion_per_state(
    tmp_path: Path, data: st.DataObject
) -> None:
    machine = data.draw(plans(tmp_path))
    run = new_run("r", machine)

    while run.state != FINISHED:
        topic = machine.plan.step(run.state).completion_topic  # type: ignore[union-attr]
        run = apply_completion(
            machine, run, Completion(topic, data.draw(st.sampled_from(["completed", "skipped"])))
        )

    assert run.seq == len(machine.plan.steps)
    assert [h.from_ for h in run.history] == [step.name for step in machine.plan.steps]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_generated_message_sequences_never_leave_the_plan(
    tmp_path: Path, data: st.DataObject
) -> None:
    machine = data.draw(plans(tmp_path))
    topics = [step.completion_topic for step in machine.plan.steps] + ["Other", "SwitchRoute"]
    statuses = st.sampled_from(["completed", "skipped", "failed", ""])
    messages = data.draw(st.lists(st.tuples(st.sampled_from(topics), statuses), max_size=30))
    run = new_run("r", machine)

    for topic, status in messages:
        try:
            advanced = apply_completion(machine, run, Completion(topic, status))
        except (InvalidCompletion, CompletionNotApplicable):
            continue
        assert advanced.seq == run.seq + 1
        run = advanced

    assert run.state in machine.plan.states
    assert run.seq == len(run.history)
    assert (run.status == "finished") == (run.state == FINISHED)


def test_machine_draws_the_plan_alone_with_no_state_marked(machine: WorkflowMachine) -> None:
    text = machine.draw()

    assert "s_active" not in text.replace("classDef s_active", "")
    assert f"class {machine.start} s_default" in text
