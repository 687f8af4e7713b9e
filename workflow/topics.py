"""Topic names the engine publishes, and the rule every topic name follows."""

from __future__ import annotations

import re

__all__ = [
    "BACKEND_STATUS",
    "ENGINE_TOPICS",
    "PROTOCOL_ERROR",
    "SWITCH_ROUTE",
    "WORKFLOW_COMPLETED",
    "WORKFLOW_STARTED",
    "WORKFLOW_UPDATED",
    "is_valid_topic",
    "updated_topic",
]

WORKFLOW_STARTED = "WorkflowStarted"
SWITCH_ROUTE = "SwitchRoute"
WORKFLOW_UPDATED = "WorkflowUpdated"
WORKFLOW_COMPLETED = "WorkflowCompleted"
PROTOCOL_ERROR = "ProtocolError"
#: Told by each process to its own subscribers when its backend is lost or back.
BACKEND_STATUS = "BackendStatus"
ENGINE_TOPICS = frozenset({
    WORKFLOW_STARTED, SWITCH_ROUTE, WORKFLOW_UPDATED, WORKFLOW_COMPLETED, PROTOCOL_ERROR,
    BACKEND_STATUS,
})

_TOPIC = re.compile(r"[A-Za-z0-9_.:/-]{1,128}")


def is_valid_topic(topic: str) -> bool:
    """Tell whether ``topic`` is 1 to 128 letters, digits or ``_ . : / -``."""
    return _TOPIC.fullmatch(topic) is not None


def updated_topic(type_name: str) -> str:
    """Return the topic announcing changes of a resource type (``DeviceUpdated``)."""
    return f"{type_name}Updated"
