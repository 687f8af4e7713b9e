"""``workflow new-plugin``: the files it writes work at once, and bad requests change nothing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workflow.cli import main
from workflow.plan import load_plan


@pytest.fixture
def project(tmp_path: Path, repo_root: Path) -> Path:
    """A copy of the repository's plan and plugins to scaffold into."""
    shutil.copy(repo_root / "execution_plan.toml", tmp_path)
    shutil.copytree(repo_root / "plugins", tmp_path / "plugins")
    return tmp_path


def new_plugin(project: Path, *args: str) -> int:
    plan, plugins = project / "execution_plan.toml", project / "plugins"
    return main(["new-plugin", "--plan", str(plan), "--plugins-dir", str(plugins), *args])


def run_tests(folder: Path, repo_root: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)]
    command += ["--rootdir", str(repo_root), "-c", str(repo_root / "pyproject.toml")]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=repo_root)


def test_new_plugin_page_with_resource_passes_its_test_and_check(
    project: Path, repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = new_plugin(project, "plugin_probe", "--route", "probe", "--resource", "wifi:Wifi")

    out = capsys.readouterr().out
    folder = project / "plugins" / "plugin_probe"
    assert code == 0
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.*")) == [
        "plugin.py",
        "test_plugin_probe.py",
        "web/step-probe.html",
        "web/step-probe.js",
    ]
    assert '[[plugins]]\nname = "plugin_probe"\nplugin_route = "probe"' in out
    result = run_tests(folder, repo_root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_new_plugin_headless_added_after_a_step_runs_there(project: Path, repo_root: Path) -> None:
    plan = project / "execution_plan.toml"

    code = new_plugin(
        project,
        "plugin_probe_check",
        "--route",
        "probe-check",
        "--headless",
        "--add-to-plan",
        "--after",
        "plugin_terms",
    )

    assert code == 0
    states = load_plan(plan).states
    assert states[states.index("plugin_terms") + 1] == "plugin_probe_check"
    assert load_plan(plan).step("plugin_probe_check").visible_in_ui is False  # type: ignore[union-attr]
    assert not (project / "plugins" / "plugin_probe_check" / "web").exists()
    assert main(["check", str(plan)]) == 0
    result = run_tests(project / "plugins" / "plugin_probe_check", repo_root)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plugin_terms", "--route", "other"], "plugin 'plugin_terms' exists already"),
        (["plugin_new", "--route", "terms"], "route 'terms' is already used by 'plugin_terms'"),
        (["Plugin-New", "--route", "new"], "name 'Plugin-New': use lower-case letters"),
        (["plugin_new", "--route", "New_Route"], "--route 'New_Route': use lower-case"),
        (["plugin_new", "--route", "ws"], "--route 'ws' is used by the server itself"),
        (["plugin_new", "--route", "new", "--plan", "absent.toml"], "no plan file absent.toml"),
        (["plugin_new", "--route", "new", "--resource", "device"], "expected NAME:Type"),
        (
            ["plugin_new", "--route", "new", "--resource", "a:A", "--resource", "a:B"],
            "--resource: resource 'a' is given twice",
        ),
        (
            ["plugin_new", "--route", "new", "--resource", "wifi:Plugin"],
            "Plugin is a name plugin.py imports",
        ),
        (
            ["plugin_new", "--route", "new", "--resource", "run:Workflow"],
            "on WorkflowUpdated, which is published by the engine",
        ),
        (
            ["plugin_new", "--route", "new", "--resource", "gadget:Device"],
            "on DeviceUpdated, which is announced by resource 'device' of plugin_provisioning",
        ),
        (["plugin_new", "--route", "new", "--after", "plugin_terms"], "add --add-to-plan"),
        (
            ["plugin_new", "--route", "new", "--add-to-plan", "--after", "nope"],
            "--after 'nope': no such plugin in the plan",
        ),
    ],
    ids=[
        "name-taken",
        "route-taken",
        "bad-name",
        "bad-route",
        "reserved-route",
        "no-plan",
        "bad-resource",
        "twice-resource",
        "shadowing-resource",
        "engine-topic-resource",
        "taken-topic-resource",
        "after-alone",
        "bad-after",
    ],
)
def test_new_plugin_refusals_change_nothing(
    project: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_before = (project / "execution_plan.toml").read_text()
    folders_before = sorted(p.name for p in (project / "plugins").iterdir())

    code = new_plugin(project, *args)

    assert code == 1
    assert message in capsys.readouterr().err
    assert (project / "execution_plan.toml").read_text() == plan_before
    assert sorted(p.name for p in (project / "plugins").iterdir()) == folders_before
