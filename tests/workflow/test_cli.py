"""The ``workflow check`` and ``workflow graph`` commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.workflow.plans import plugin_entry, write_plan
from workflow.cli import main
from workflow.plan import load_plan


def test_check_repository_plan_prints_one_line_summary(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", str(repo_root / "execution_plan.toml")])

    out = capsys.readouterr().out
    plan = load_plan(repo_root / "execution_plan.toml")
    walk = " -> ".join([*(step.name for step in plan.steps), "finished"])
    assert code == 0
    assert out.count("\n") == 1
    assert out.endswith(f": ok, plan {plan.version}, {len(plan.steps)} steps: {walk}\n")


def test_check_invalid_plan_prints_every_error_one_a_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = [plugin_entry("a", "r"), plugin_entry("b", "r", run_after_event_name="Nope")]
    path = write_plan(tmp_path, entries, make_folders=False)

    code = main(["check", str(path)])

    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert len(err) == 5
    assert all(line.startswith("execution_plan.toml: plugins[") for line in err)


def test_check_reports_plugin_declaring_another_route(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_plan(tmp_path, [plugin_entry("a", "a")])
    (tmp_path / "plugins" / "a" / "plugin.py").write_text(
        "from workflow import Plugin\nplugin = Plugin(name='a', route='elsewhere')\n"
    )

    code = main(["check", str(path)])

    assert code == 1
    assert "declares name 'a' and route 'elsewhere'" in capsys.readouterr().err


def test_check_reports_plugin_that_fails_to_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_plan(tmp_path, [plugin_entry("a", "a")])
    (tmp_path / "plugins" / "a" / "plugin.py").write_text("raise RuntimeError('boom')\n")

    assert main(["check", str(path)]) == 1
    assert "failed to import: RuntimeError('boom')" in capsys.readouterr().err


def test_graph_prints_mermaid_state_diagram(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["graph", str(repo_root / "execution_plan.toml")])

    out = capsys.readouterr().out
    assert code == 0
    assert "stateDiagram-v2" in out
    assert "plugin_finish --> finished: FinishCompleted" in out


def test_graph_invalid_plan_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(tmp_path / "absent.toml")]) == 1
    assert "no such plan file" in capsys.readouterr().err


def test_check_reports_a_visible_step_without_its_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_plan(
        tmp_path, [plugin_entry("a", "a"), plugin_entry("b", "b", visible_in_ui=False)]
    )
    (tmp_path / "plugins" / "a" / "web").mkdir()
    (tmp_path / "plugins" / "a" / "web" / "step-a.js").write_text("export function activate() {}")

    assert main(["check", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "execution_plan.toml: a: visible_in_ui is true but step-a.html is missing from a/web/; "
        "add the page, or set visible_in_ui = false"
    ]


def test_check_reports_resources_announcing_on_a_topic_already_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_plan(
        tmp_path,
        [plugin_entry("a", "a", visible_in_ui=False), plugin_entry("b", "b", visible_in_ui=False)],
    )
    declare = (
        "import msgspec\nfrom workflow import Plugin\n\n"
        "class {type}(msgspec.Struct):\n    name: str\n\n"
        "plugin = Plugin(name={name!r}, route={name!r}, resources={resources})\n"
    )
    (tmp_path / "plugins" / "a" / "plugin.py").write_text(
        declare.format(type="Workflow", name="a", resources="{'run': Workflow}")
    )
    (tmp_path / "plugins" / "b" / "plugin.py").write_text(
        declare.format(type="Device", name="b", resources="{'d1': Device, 'd2': Device}")
    )

    assert main(["check", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "execution_plan.toml: a: resource 'run' would announce its changes on WorkflowUpdated, "
        "which is published by the engine; rename the struct Workflow",
        "execution_plan.toml: b: resource 'd2' would announce its changes on DeviceUpdated, "
        "which is announced by resource 'd1' of b; rename the struct Device",
    ]
