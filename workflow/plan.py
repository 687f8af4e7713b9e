"""Loading an execution plan and compiling it into steps and transitions.

The TOML file is decoded straight into frozen msgspec structs that reject
unknown keys; the compile rules then decide the start, the order of the walk
and the trigger of every transition.  Every problem is reported with the plan
file, the plugin and the field it concerns.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import msgspec

from workflow.errors import PlanError
from workflow.topics import ENGINE_TOPICS, WORKFLOW_STARTED, is_valid_topic

__all__ = [
    "FINISHED",
    "RESERVED_ROUTES",
    "General",
    "Handoffs",
    "Plan",
    "PluginEntry",
    "Step",
    "Transition",
    "completion_topic_for",
    "load_plan",
]

FINISHED = "finished"
KNOWN_SECTIONS = frozenset({"general", "plugins", "handoffs"})
#: Routes the server uses itself (/api, /shell, /ws, ...): no plugin may take one.
RESERVED_ROUTES = frozenset({"api", "healthz", "inspect", "schema", "shell", "workflow", "ws"})
LOCAL = "local"

logger = logging.getLogger(__name__)

Name = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_]+$")]
Route = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9-]+$")]


class General(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The ``[general]`` section: what the plan is for and its version."""

    product_family: str
    execution_plan_version: str
    update_from: str | None = None
    update_path_root: str | None = None


class PluginEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One ``[[plugins]]`` entry, as written in the plan."""

    name: Name
    plugin_route: Route
    version: str
    plugin_location_type: str = LOCAL
    plugin_base_path: str = "./plugins"
    plugin_description: str = ""
    team_name: str = ""
    engineering_contact_email: str = ""
    operation_contact_email: str = ""
    run_async: bool = False
    visible_in_ui: bool = True
    run_after_event_name: str | None = None
    completed_event_name: str | None = None


class Handoffs(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The optional ``[handoffs]`` section."""

    handoff_events: tuple[str, ...] = ()


class _PlanFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    general: General
    plugins: tuple[PluginEntry, ...] = ()
    handoffs: Handoffs = Handoffs()


class Step(msgspec.Struct, frozen=True):
    """A state of the compiled machine: one plugin of the plan."""

    name: str
    route: str
    completion_topic: str
    visible_in_ui: bool
    plugin: PluginEntry
    folder: Path


class Transition(msgspec.Struct, frozen=True):
    """An edge of the machine, in the words of ``transitions``."""

    source: str
    trigger: str
    dest: str


class Plan(msgspec.Struct, frozen=True):
    """A validated plan: its steps in walk order and the transitions between them."""

    path: Path
    general: General
    handoffs: Handoffs
    steps: tuple[Step, ...]
    transitions: tuple[Transition, ...]

    @property
    def version(self) -> str:
        return self.general.execution_plan_version

    @property
    def start(self) -> str:
        return self.steps[0].name

    @property
    def states(self) -> tuple[str, ...]:
        return (*(step.name for step in self.steps), FINISHED)

    def step(self, name: str) -> Step | None:
        """Return the step called ``name``, or None (also for ``finished``)."""
        return next((step for step in self.steps if step.name == name), None)


def completion_topic_for(entry: PluginEntry) -> str:
    """Return the topic that completes ``entry``: its own, or CamelRoute + Completed."""
    if entry.completed_event_name:
        return entry.completed_event_name
    words = re.split(r"[-_]", entry.plugin_route)
    return "".join(word.capitalize() for word in words) + "Completed"


def load_plan(path: str | Path, *, check_folders: bool = True) -> Plan:
    """Read, decode, validate and compile the plan at ``path``.

    Raises PlanError listing every problem found.
    """
    path = Path(path)
    document = _decode(path)
    entries = document.plugins
    problems = list(_check_entries(path.name, document, path.parent, check_folders))
    if problems:
        raise PlanError(problems)
    steps = _walk(path.name, entries, path.parent)
    return Plan(
        path=path,
        general=document.general,
        handoffs=document.handoffs,
        steps=steps,
        transitions=_transitions(steps),
    )


def _decode(path: Path) -> _PlanFile:
    try:
        raw = msgspec.toml.decode(path.read_bytes())
    except FileNotFoundError as exc:
        raise PlanError([f"{path}: no such plan file"]) from exc
    except (OSError, msgspec.DecodeError) as exc:
        raise PlanError([f"{path.name or path}: cannot read the plan: {exc}"]) from exc
    for key in sorted(set(raw) - KNOWN_SECTIONS):
        kind = "section" if isinstance(raw[key], dict | list) else "top-level key"
        logger.info("%s: ignoring %s [%s], which the engine does not use", path.name, kind, key)
    known = {key: value for key, value in raw.items() if key in KNOWN_SECTIONS}
    try:
        return msgspec.convert(known, _PlanFile)
    except msgspec.ValidationError as exc:
        problems = list(_every_problem(known)) or [_describe("", exc)]
        raise PlanError([f"{path.name}: {problem}" for problem in problems]) from exc


def _every_problem(raw: dict[str, Any]) -> Iterator[str]:
    """Convert each section and plugin apart, so one bad entry does not hide the next."""
    if "general" not in raw:
        yield "general: the plan has no [general] section"
    parts: list[tuple[str, Any, type[msgspec.Struct]]] = []
    if "general" in raw:
        parts.append(("general", raw["general"], General))
    if "handoffs" in raw:
        parts.append(("handoffs", raw["handoffs"], Handoffs))
    plugins = raw.get("plugins", [])
    if not isinstance(plugins, list):
        yield "plugins: expected [[plugins]] tables"
        plugins = []
    for index, entry in enumerate(plugins):
        name = entry.get("name") if isinstance(entry, dict) else None
        label = f"plugins[{index}] ({name})" if isinstance(name, str) else f"plugins[{index}]"
        parts.append((label, entry, PluginEntry))
    for label, value, struct in parts:
        try:
            msgspec.convert(value, struct)
        except msgspec.ValidationError as exc:
            yield _describe(label, exc)


def _describe(label: str, exc: msgspec.ValidationError) -> str:
    """Turn msgspec's "Expected ... - at `$.name`" into "<label>: name: Expected ..."."""
    message, _, where = str(exc).partition(" - at `$")
    where = where.rstrip("`").lstrip(".")
    return ": ".join(part for part in (label, where, message) if part)


def _label(file: str, index: int, entry: PluginEntry) -> str:
    return f"{file}: plugins[{index}] ({entry.name})"


def _check_entries(
    file: str, document: _PlanFile, base: Path, check_folders: bool
) -> Iterator[str]:
    entries = document.plugins
    if not entries:
        yield f"{file}: the plan has no plugins; add at least one [[plugins]] entry"
        return
    yield from _check_unique(file, entries)
    for index, entry in enumerate(entries):
        if entry.plugin_route in RESERVED_ROUTES:
            reserved = ", ".join(sorted(RESERVED_ROUTES))
            yield (
                f"{_label(file, index, entry)}: plugin_route {entry.plugin_route!r} is used by "
                f"the server itself; choose another (reserved: {reserved})"
            )
    yield from _check_topics(file, entries)
    if check_folders:
        yield from _check_folders(file, entries, base)


def _check_unique(file: str, entries: tuple[PluginEntry, ...]) -> Iterator[str]:
    seen: dict[tuple[str, str], int] = {}
    for index, entry in enumerate(entries):
        keys = {
            "name": entry.name,
            "plugin_route": entry.plugin_route,
            "completion topic": completion_topic_for(entry),
        }
        for field, value in keys.items():
            first = seen.setdefault((field, value), index)
            if first != index:
                yield (
                    f"{_label(file, index, entry)}: {field} {value!r} "
                    f"repeats that of plugins[{first}] ({entries[first].name})"
                )


def _check_topics(file: str, entries: tuple[PluginEntry, ...]) -> Iterator[str]:
    topics = {completion_topic_for(entry) for entry in entries}
    for index, entry in enumerate(entries):
        label, topic = _label(file, index, entry), completion_topic_for(entry)
        if not is_valid_topic(topic):
            yield f"{label}: completed_event_name {topic!r} is not a valid topic name"
        elif topic in ENGINE_TOPICS:
            yield f"{label}: completed_event_name {topic!r} is a topic the engine publishes"
        after = entry.run_after_event_name
        if after is not None and after != WORKFLOW_STARTED and after not in topics:
            yield (
                f"{label}: run_after_event_name {after!r} is not the "
                "completion topic of any plugin"
            )
    followers: dict[str, int] = {}
    for index, event in _run_after(entries).items():
        first = followers.setdefault(event, index)
        if first != index:
            yield (
                f"{_label(file, index, entries[index])}: runs after {event!r}, and so does "
                f"plugins[{first}] ({entries[first].name}); give one another run_after_event_name"
            )


def _check_folders(file: str, entries: tuple[PluginEntry, ...], base: Path) -> Iterator[str]:
    for index, entry in enumerate(entries):
        label = _label(file, index, entry)
        if entry.plugin_location_type != LOCAL:
            yield (
                f"{label}: plugin_location_type {entry.plugin_location_type!r} is not "
                f"supported yet; only {LOCAL!r} plugins can run"
            )
            continue
        folder = base / entry.plugin_base_path / entry.name
        if not folder.is_dir():
            yield (
                f"{label}: plugin_base_path: no plugin folder {entry.name!r} "
                f"in {entry.plugin_base_path!r} (relative to the plan file: "
                f"{os.path.normpath(base / entry.plugin_base_path)})"
            )
        elif not (folder / "plugin.py").is_file():
            yield f"{label}: plugin_base_path: the folder {entry.name!r} has no plugin.py"


def _start(entries: tuple[PluginEntry, ...]) -> int | None:
    """Return the index of the start plugin, by rule 2 of the plan format."""
    explicit = (i for i, e in enumerate(entries) if e.run_after_event_name == WORKFLOW_STARTED)
    implicit = (i for i, e in enumerate(entries) if e.run_after_event_name is None)
    return next(explicit, next(implicit, None))


def _run_after(entries: tuple[PluginEntry, ...]) -> dict[int, str]:
    """Map each plugin's index to the event it runs after, where it has one."""
    start = _start(entries)
    events: dict[int, str] = {}
    for index, entry in enumerate(entries):
        event = entry.run_after_event_name
        if event is None and index != start and index > 0:
            event = completion_topic_for(entries[index - 1])
        if event is not None:
            events[index] = event
    return events


def _walk(file: str, entries: tuple[PluginEntry, ...], base: Path) -> tuple[Step, ...]:
    start = _start(entries)
    if start is None:
        raise PlanError(
            [f"{file}: no plugin can start: give one run_after_event_name 'WorkflowStarted'"]
        )
    follower = {event: index for index, event in _run_after(entries).items() if index != start}
    order = [start]
    while (following := follower.get(completion_topic_for(entries[order[-1]]))) is not None:
        if following in order:
            break
        order.append(following)
    unreachable = [i for i in range(len(entries)) if i not in order]
    if unreachable:
        raise PlanError(
            [
                f"{_label(file, i, entries[i])}: cannot be reached from the start "
                f"({entries[start].name}); check its run_after_event_name"
                for i in unreachable
            ]
        )
    return tuple(_step(entries[i], base) for i in order)


def _step(entry: PluginEntry, base: Path) -> Step:
    return Step(
        name=entry.name,
        route=entry.plugin_route,
        completion_topic=completion_topic_for(entry),
        visible_in_ui=entry.visible_in_ui,
        plugin=entry,
        folder=(base / entry.plugin_base_path / entry.name).resolve(),
    )


def _transitions(steps: tuple[Step, ...]) -> tuple[Transition, ...]:
    dests = [step.name for step in steps[1:]] + [FINISHED]
    return tuple(
        Transition(source=step.name, trigger=step.completion_topic, dest=dest)
        for step, dest in zip(steps, dests, strict=True)
    )
