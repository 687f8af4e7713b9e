"""A workflow engine for guided onboarding flows, driven by an execution plan.

Plugins import what they need from here and nothing deeper.
"""

from workflow.errors import (
    BackendUnavailable,
    CompletionNotApplicable,
    CompletionRefused,
    InvalidCompletion,
    PlanError,
    PluginError,
    RunExists,
    UnknownRun,
    WorkflowError,
)
from workflow.plugin import Plugin

__all__ = [
    "BackendUnavailable",
    "CompletionNotApplicable",
    "CompletionRefused",
    "InvalidCompletion",
    "PlanError",
    "Plugin",
    "PluginError",
    "RunExists",
    "UnknownRun",
    "WorkflowError",
]
