"""Loading and compiling execution plans: the compile rules and every validation error."""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec
import pytest

from tests.workflow.plans import plugin_entry, write_plan
from workflow.errors import PlanError
from workflow.plan import FINISHED, PluginEntry, completion_topic_for, load_plan


def chain(*names: str) -> list[dict[str, object]]:
    return [plugin_entry(name) for name in names]


def problems_of(path: Path) -> list[str]:
    with pytest.raises(PlanError) as caught:
        load_plan(path)
    return list(caught.value.problems)


def test_repository_plan_compiles_to_the_onboarding_flow(repo_root: Path) -> None:
    plan = load_plan(repo_root / "execution_plan.toml")

    assert plan.states == (
        "plugin_welcome",
        "plugin_terms",
        "plugin_provisioning",
        "plugin_verify",
        "plugin_notifications",
        "plugin_finish",
        FINISHED,
    )
    assert [step.route for step in plan.steps] == [
        "welcome",
        "terms",
        "provision",
        "verify",
        "notifications",
        "finish",
    ]
    assert [(t.source, t.trigger, t.dest) for t in plan.transitions] == [
        ("plugin_welcome", "WelcomeCompleted", "plugin_terms"),
        ("plugin_terms", "TermsCompleted", "plugin_provisioning"),
        ("plugin_provisioning", "DeviceCompleted", "plugin_verify"),
        ("plugin_verify", "VerifyCompleted", "plugin_notifications"),
        ("plugin_notifications", "NotificationsCompleted", "plugin_finish"),
        ("plugin_finish", "FinishCompleted", FINISHED),
    ]


def test_completion_topic_defaults_to_camel_case_route() -> None:
    def topic(**fields: object) -> str:
        return completion_topic_for(msgspec.convert(plugin_entry("a", **fields), PluginEntry))

    assert topic(route="provision") == "ProvisionCompleted"
    assert topic(route="device-setup") == "DeviceSetupCompleted"
    assert topic(route="provision", completed_event_name="DeviceCompleted") == "DeviceCompleted"


def test_plan_older_style_chain_matches_its_list_ordered_twin(tmp_path: Path) -> None:
    listed = write_plan(tmp_path / "listed", chain("first", "second", "third"))
    older = write_plan(
        tmp_path / "older",
        [
            plugin_entry(
                "third", run_after_event_name="SecondDone", completed_event_name="ThirdCompleted"
            ),
            plugin_entry(
                "first",
                run_after_event_name="WorkflowStarted",
                completed_event_name="FirstCompleted",
            ),
            plugin_entry(
                "second", run_after_event_name="FirstCompleted", completed_event_name="SecondDone"
            ),
        ],
        extra='\n[handoffs]\nhandoff_events = ["X"]\n\n[logging]\nlevel = "debug"\n\n'
        '[jwt_storage]\npath = "tokens"\n',
    )

    a, b = load_plan(listed), load_plan(older)

    assert a.states == b.states == ("first", "second", "third", FINISHED)
    assert [(t.source, t.dest) for t in a.transitions] == [
        (t.source, t.dest) for t in b.transitions
    ]
    assert b.handoffs.handoff_events == ("X",)


def test_plan_unknown_sections_are_logged_and_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_plan(tmp_path, chain("only"), extra='\n[logging]\nlevel = "debug"\n')

    with caplog.at_level(logging.INFO, logger="workflow.plan"):
        plan = load_plan(path)

    assert plan.states == ("only", FINISHED)
    assert "ignoring section [logging]" in caplog.text


def test_plan_start_is_the_plugin_run_after_workflow_started(tmp_path: Path) -> None:
    path = write_plan(
        tmp_path,
        [
            plugin_entry("b", run_after_event_name="ACompleted"),
            plugin_entry("a", run_after_event_name="WorkflowStarted"),
        ],
    )

    assert load_plan(path).states == ("a", "b", FINISHED)


def test_plan_defaults_fill_optional_fields(tmp_path: Path) -> None:
    step = load_plan(write_plan(tmp_path, chain("only"))).steps[0]

    assert step.visible_in_ui is True
    assert step.plugin.plugin_location_type == "local"
    assert step.plugin.plugin_base_path == "./plugins"
    assert step.folder == (tmp_path / "plugins" / "only").resolve()


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (
            [plugin_entry("a"), plugin_entry("a", "other")],
            "execution_plan.toml: plugins[1] (a): name 'a' repeats that of plugins[0] (a)",
        ),
        (
            [plugin_entry("a", "r"), plugin_entry("b", "r")],
            "execution_plan.toml: plugins[1] (b): plugin_route 'r' repeats that of plugins[0] (a)",
        ),
        (
            [
                plugin_entry("a", completed_event_name="Done"),
                plugin_entry("b", completed_event_name="Done"),
            ],
            "execution_plan.toml: plugins[1] (b): completion topic 'Done' repeats that of "
            "plugins[0] (a)",
        ),
        (
            [
                plugin_entry("a"),
                plugin_entry("b"),
                plugin_entry("plugin_terms", "terms", run_after_event_name="LoginCompleted"),
            ],
            "execution_plan.toml: plugins[2] (plugin_terms): run_after_event_name 'LoginCompleted' "
            "is not the completion topic of any plugin",
        ),
        (
            [
                plugin_entry("a"),
                plugin_entry("b"),
                plugin_entry("c", run_after_event_name="ACompleted"),
            ],
            "execution_plan.toml: plugins[2] (c): runs after 'ACompleted', and so does "
            "plugins[1] (b)",
        ),
        (
            [plugin_entry("a", completed_event_name="SwitchRoute")],
            "execution_plan.toml: plugins[0] (a): completed_event_name 'SwitchRoute' is a topic "
            "the engine publishes",
        ),
        (
            [plugin_entry("a", "shell")],
            "execution_plan.toml: plugins[0] (a): plugin_route 'shell' is used by the server",
        ),
        (
            [plugin_entry("a", plugin_location_type="s3")],
            "execution_plan.toml: plugins[0] (a): plugin_location_type 's3' is not supported yet",
        ),
    ],
    ids=["name", "route", "topic", "run-after", "same-event", "engine-topic", "reserved", "remote"],
)
def test_plan_invalid_entries_are_named(
    tmp_path: Path, entries: list[dict[str, object]], expected: str
) -> None:
    problems = problems_of(write_plan(tmp_path, entries))

    assert any(problem.startswith(expected) for problem in problems), problems


def test_plan_unreachable_plugin_is_named(tmp_path: Path) -> None:
    path = write_plan(
        tmp_path,
        [
            plugin_entry("a", run_after_event_name="WorkflowStarted"),
            plugin_entry("loop", completed_event_name="LoopDone", run_after_event_name="LoopDone"),
        ],
    )

    assert problems_of(path) == [
        "execution_plan.toml: plugins[1] (loop): cannot be reached from the start (a); "
        "check its run_after_event_name"
    ]


def test_plan_without_plugins_is_refused(tmp_path: Path) -> None:
    assert problems_of(write_plan(tmp_path, [])) == [
        "execution_plan.toml: the plan has no plugins; add at least one [[plugins]] entry"
    ]


def test_plan_missing_plugin_folder_is_named(tmp_path: Path) -> None:
    path = write_plan(tmp_path, chain("a"), make_folders=False)

    assert problems_of(path) == [
        "execution_plan.toml: plugins[0] (a): plugin_base_path: no plugin folder 'a' in "
        f"'./plugins' (relative to the plan file: {tmp_path / 'plugins'})"
    ]


def test_plan_missing_plugin_py_is_named(tmp_path: Path) -> None:
    path = write_plan(tmp_path, chain("a"))
    (tmp_path / "plugins" / "a" / "plugin.py").unlink()

    assert problems_of(path) == [
        "execution_plan.toml: plugins[0] (a): plugin_base_path: the folder 'a' has no plugin.py"
    ]


def test_plan_reports_every_problem_at_once(tmp_path: Path) -> None:
    entries = [plugin_entry("a", "r"), plugin_entry("b", "r", run_after_event_name="Nope")]
    problems = problems_of(write_plan(tmp_path, entries, make_folders=False))

    # the repeated route, the topic it repeats, the unknown event, two missing folders
    assert len(problems) == 5


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            plugin_entry("a", run_async="yes"),
            "plugins[0] (a): run_async: Expected `bool`, got `str`",
        ),
        (plugin_entry("a", colour="red"), "plugins[0] (a): Object contains unknown field `colour`"),
        (
            {"name": "a", "version": "1"},
            "plugins[0] (a): Object missing required field `plugin_route`",
        ),
        (plugin_entry("Bad Name"), "plugins[0] (Bad Name): name: Expected `str` matching regex"),
        (
            plugin_entry("a", "Bad_Route"),
            "plugins[0] (a): plugin_route: Expected `str` matching regex",
        ),
    ],
    ids=["type", "unknown-key", "missing", "name-pattern", "route-pattern"],
)
def test_plan_decoding_errors_name_file_plugin_and_field(
    tmp_path: Path, entry: dict[str, object], expected: str
) -> None:
    [problem] = problems_of(write_plan(tmp_path, [entry], make_folders=False))

    assert problem.startswith(f"execution_plan.toml: {expected}"), problem


def test_plan_missing_general_field_is_named(tmp_path: Path) -> None:
    path = write_plan(tmp_path, chain("a"), general={"product_family": "x"})

    assert problems_of(path) == [
        "execution_plan.toml: general: Object missing required field `execution_plan_version`"
    ]


def test_plan_malformed_toml_is_refused_with_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[general\n")

    [problem] = problems_of(path)

    assert problem.startswith("broken.toml: cannot read the plan:")


def test_plan_that_is_a_folder_is_named_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    [problem] = problems_of(Path("."))

    assert problem.startswith(".: cannot read the plan:")


def test_plan_missing_file_is_named(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path / "absent.toml")

    assert problem.endswith("absent.toml: no such plan file")


def test_plan_decoding_reports_a_problem_in_every_plugin(tmp_path: Path) -> None:
    entries = [
        plugin_entry("a", visible_in_ui="yes"),
        plugin_entry("b", run_async=3),
        plugin_entry("c", "BAD ROUTE"),
    ]

    problems = problems_of(write_plan(tmp_path, entries, make_folders=False))

    assert [problem.split(":")[1].strip() for problem in problems] == [
        "plugins[0] (a)", "plugins[1] (b)", "plugins[2] (c)",
    ]
    assert "visible_in_ui: Expected `bool`, got `str`" in problems[0]


def test_plan_update_from_is_accepted_and_kept(tmp_path: Path) -> None:
    general = {"product_family": "x", "execution_plan_version": "1", "update_from": "s3://plans"}

    plan = load_plan(write_plan(tmp_path, [plugin_entry("a")], general=general))

    assert plan.general.update_from == "s3://plans"
