"""The engine's errors, one root and a small tree split by who must act.

    WorkflowError
    ├── PlanError                  the plan or a plugin folder is invalid: fix the plan
    ├── CompletionRefused          a completion message cannot be applied: tell its sender
    │   ├── InvalidCompletion      malformed, unknown topic or status: never valid
    │   ├── UnknownRun             no run has that id
    │   └── CompletionNotApplicable valid, but not now (other state, finished run)
    ├── RecordRefused              a resource record request cannot be applied: tell its sender
    │   ├── InvalidRecord          the body does not fit the resource's struct
    │   └── UnknownRecord          no record has that id
    ├── RunExists                  a run with that id already exists
    ├── PluginError                a plugin failed to load or its step raised
    └── BackendUnavailable         the store or the bus cannot be reached: retry later
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BackendUnavailable",
    "CompletionNotApplicable",
    "CompletionRefused",
    "InvalidCompletion",
    "InvalidRecord",
    "PlanError",
    "PluginError",
    "RecordRefused",
    "RunExists",
    "UnknownRecord",
    "UnknownRun",
    "WorkflowError",
]


class WorkflowError(Exception):
    """Root of every error the engine raises on purpose."""


class PlanError(WorkflowError):
    """The execution plan cannot be loaded or compiled.

    ``problems`` holds every problem found, one line each, each naming the plan
    file, the plugin and the field.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class CompletionRefused(WorkflowError):
    """A completion message was not applied; the run is unchanged."""


class InvalidCompletion(CompletionRefused):
    """The message can never be applied: bad payload, unknown topic or status."""


class UnknownRun(CompletionRefused):
    """The message names a run that does not exist."""


class CompletionNotApplicable(CompletionRefused):
    """The message is valid but the run is not where it applies."""


class RecordRefused(WorkflowError):
    """A request on a resource record was not applied; the store is unchanged."""


class InvalidRecord(RecordRefused):
    """The body does not fit the resource: ``field`` names the offending one, if any."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class UnknownRecord(RecordRefused):
    """No record of the resource has the requested id."""


class RunExists(WorkflowError):
    """A run with the requested id already exists."""


class PluginError(WorkflowError):
    """A plugin could not be loaded, or its server-side step failed."""


class BackendUnavailable(WorkflowError):
    """The backend (Redis) cannot be reached; the operation did not happen."""
