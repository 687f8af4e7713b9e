"""A workflow engine for guided onboarding flows, driven by an execution plan.

Plugins import what they need from here and nothing deeper.
"""

from workflow.errors import (
    BackendUnavailable,
    CompletionNotApplicable,
    CompletionRefused,
    InvalidCompletion,
    InvalidRecord,
    PlanError,
    PluginError,
    RecordRefused,
    RunExists,
    UnknownRecord,
    UnknownRun,
    WorkflowError,
)
from workflow.plugin import Plugin
from workflow.runs import Completion, Run
from workflow.step import StepContext

__all__ = [
    "BackendUnavailable",
    "Completion",
    "CompletionNotApplicable",
    "CompletionRefused",
    "InvalidCompletion",
    "InvalidRecord",
    "PlanError",
    "Plugin",
    "PluginError",
    "RecordRefused",
    "Run",
    "RunExists",
    "StepContext",
    "UnknownRecord",
    "UnknownRun",
    "WorkflowError",
]
