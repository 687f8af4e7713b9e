"""What plugins may import from ``workflow``: exactly these names, each importable."""

from __future__ import annotations

import workflow

PUBLIC = {
    "BackendUnavailable", "Completion", "CompletionNotApplicable", "CompletionRefused",
    "InvalidCompletion", "InvalidRecord", "PlanError", "Plugin", "PluginError",
    "RecordRefused", "Run", "RunExists", "StepContext", "UnknownRecord", "UnknownRun",
    "WorkflowError",
}


def test_public_api_exports_exactly_the_plugin_surface() -> None:
    assert set(workflow.__all__) == PUBLIC
    assert all(hasattr(workflow, name) for name in PUBLIC)


def test_public_api_errors_share_one_root() -> None:
    exported = [getattr(workflow, name) for name in PUBLIC]
    errors = [item for item in exported if isinstance(item, type) and issubclass(item, Exception)]

    assert len(errors) == 12
    assert all(issubclass(error, workflow.WorkflowError) for error in errors)
