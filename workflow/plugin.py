"""What a plugin declares in its ``plugin.py``, and how the engine loads it."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import msgspec

from workflow.errors import PluginError
from workflow.topics import ENGINE_TOPICS, updated_topic

if TYPE_CHECKING:
    from workflow.plan import Plan, Step
    from workflow.runs import Completion
    from workflow.step import StepContext

__all__ = ["Plugin", "check_resource_topics", "load_plugin", "read_plugin"]

StepHandler = Callable[["StepContext"], Awaitable[None]]
CompletionCheck = Callable[["Completion"], None]
_RESOURCE = re.compile(r"[a-z0-9-]+")


@dataclass(frozen=True, kw_only=True)
class Plugin:
    """A plugin's declaration: ``plugin = Plugin(name=..., route=..., ...)``.

    ``resources`` maps a resource name (used in URLs) to the msgspec struct of
    its records; each gets REST CRUD under ``/api/<route>/<resource>``.
    ``on_enter`` is a coroutine the engine runs when a run enters the step.
    ``route_handlers`` are extra Litestar handlers mounted under ``/api/<route>``.
    ``check_completion`` sees the step's completion before it is applied and
    refuses it by raising ValueError with the reason (a terms step that must
    be accepted, say); the sender is told the reason (CompletionNotApplicable)
    and the run stays.
    """

    name: str
    route: str
    resources: Mapping[str, type[msgspec.Struct]] = field(default_factory=dict)
    on_enter: StepHandler | None = None
    route_handlers: Sequence[Any] = ()
    check_completion: CompletionCheck | None = None

    def __post_init__(self) -> None:
        for resource, struct in self.resources.items():
            if not _RESOURCE.fullmatch(resource):
                raise PluginError(
                    f"plugin {self.name!r}: resource name {resource!r} must be [a-z0-9-]+"
                )
            if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
                raise PluginError(
                    f"plugin {self.name!r}: resource {resource!r} must be a msgspec.Struct type"
                )
            if "id" in struct.__struct_fields__:
                raise PluginError(
                    f"plugin {self.name!r}: resource {resource!r}: the engine sets 'id'; "
                    "leave it out of the struct"
                )


def read_plugin(folder: Path) -> Plugin:
    """Import ``folder/plugin.py`` and return the ``plugin`` it declares.

    Raises PluginError when the file fails to import or declares no plugin.
    """
    path = folder / "plugin.py"
    plugin = getattr(_import(folder.name, path), "plugin", None)
    if not isinstance(plugin, Plugin):
        raise PluginError(f"{path}: defines no 'plugin = Plugin(...)'")
    return plugin


def load_plugin(step: Step) -> Plugin:
    """Import the plugin of ``step`` from its folder and check it is the one the plan lists.

    Raises PluginError when the file fails to import or declares another plugin.
    """
    path = step.folder / "plugin.py"
    plugin = read_plugin(step.folder)
    if (plugin.name, plugin.route) != (step.name, step.route):
        raise PluginError(
            f"{path}: declares name {plugin.name!r} and route {plugin.route!r}, but the plan "
            f"lists name {step.name!r} and route {step.route!r}"
        )
    return plugin


def check_resource_topics(plan: Plan, plugins: Iterable[Plugin]) -> list[str]:
    """Name every resource whose ``<Type>Updated`` topic the flow already uses for another thing.

    Its changes would reach the subscribers of that topic as if they were
    what that topic promises (a run's update, another plugin's records).
    """
    owners = {topic: "published by the engine" for topic in ENGINE_TOPICS}
    owners.update(
        {step.completion_topic: f"the completion topic of {step.name}" for step in plan.steps}
    )
    problems = []
    for plugin in plugins:
        for resource, struct in plugin.resources.items():
            topic = updated_topic(struct.__name__)
            owner = owners.get(topic)
            if owner is None:
                owners[topic] = f"announced by resource {resource!r} of {plugin.name}"
                continue
            problems.append(
                f"{plan.path.name}: {plugin.name}: resource {resource!r} would announce its "
                f"changes on {topic}, which is {owner}; rename the struct {struct.__name__}"
            )
    return problems


def _import(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"workflow_plugins.{name}", path)
    if spec is None or spec.loader is None:
        raise PluginError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    # Registered like any import: Litestar resolves a route handler's annotations
    # through sys.modules[handler.__module__].
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[spec.name]
        raise PluginError(f"{path}: failed to import: {exc!r}") from exc
    return module
