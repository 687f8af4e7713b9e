"""``workflow new-plugin``: a new step's folder, page, test and plan entry from templates."""

from __future__ import annotations

import contextlib
import keyword
import os
import re
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template

import msgspec

from workflow.errors import PlanError, PluginError, WorkflowError
from workflow.plan import RESERVED_ROUTES, Plan, load_plan
from workflow.plugin import Plugin, check_resource_topics, load_plugin

__all__ = [
    "NewPlugin",
    "ScaffoldError",
    "add_to_plan",
    "check_new",
    "create_plugin",
    "parse_resource",
    "plan_block",
    "scaffold",
]

NAME = re.compile(r"[a-z0-9_]+")
ROUTE = re.compile(r"[a-z0-9-]+")
#: Names the generated plugin.py uses itself, which a record type would shadow.
TAKEN_NAMES = frozenset({"Plugin", "StepContext", "Completion"})
RESOURCE = re.compile(r"(?P<resource>[a-z0-9-]+):(?P<type>[A-Z][A-Za-z0-9]*)")


class ScaffoldError(WorkflowError):
    """The new plugin cannot be created as asked; nothing was written."""


@dataclass(frozen=True)
class NewPlugin:
    """What ``new-plugin`` was asked for."""

    name: str
    route: str
    resources: tuple[tuple[str, str], ...] = ()
    headless: bool = False
    files: list[Path] = field(default_factory=list, compare=False)

    @property
    def title(self) -> str:
        return self.route.replace("-", " ").capitalize()

    @property
    def topic(self) -> str:
        return "".join(word.capitalize() for word in re.split(r"[-_]", self.route)) + "Completed"


def parse_resource(spec: str) -> tuple[str, str]:
    """Read ``name:Type`` (``device:Device``); ScaffoldError if it is not that."""
    match = RESOURCE.fullmatch(spec)
    if match is None or keyword.iskeyword(match["type"]):
        raise ScaffoldError(
            f"--resource {spec!r}: expected NAME:Type, e.g. device:Device "
            "(NAME [a-z0-9-]+, Type a CamelCase Python name)"
        )
    if match["type"] in TAKEN_NAMES:
        raise ScaffoldError(
            f"--resource {spec!r}: {match['type']} is a name plugin.py imports; "
            "name the record type after what it holds (Wifi, Account)"
        )
    return match["resource"], match["type"]


def check_new(new: NewPlugin, plugins_dir: Path, plan: Path | None) -> None:
    """Raise ScaffoldError if the name or route is invalid or already taken."""
    if not NAME.fullmatch(new.name):
        raise ScaffoldError(f"name {new.name!r}: use lower-case letters, digits and _ only")
    if not ROUTE.fullmatch(new.route):
        raise ScaffoldError(f"--route {new.route!r}: use lower-case letters, digits and - only")
    for kind, values in (
        ("resource", [r for r, _ in new.resources]),
        ("type", [t for _, t in new.resources]),
    ):
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            raise ScaffoldError(f"--resource: {kind} {repeated[0]!r} is given twice")
    if new.route in RESERVED_ROUTES:
        raise ScaffoldError(
            f"--route {new.route!r} is used by the server itself; choose another "
            f"(reserved: {', '.join(sorted(RESERVED_ROUTES))})"
        )
    if plan is not None and not plan.is_file():
        raise ScaffoldError(
            f"no plan file {plan}: copy execution_plan.toml there first, or name another --plan"
        )
    if (plugins_dir / new.name).exists():
        raise ScaffoldError(f"plugin {new.name!r} exists already in {plugins_dir}")
    if plan is not None:
        _check_plan(new, plan)


def _check_plan(new: NewPlugin, plan_path: Path) -> None:
    try:
        plan = load_plan(plan_path, check_folders=False)
    except PlanError as exc:
        raise ScaffoldError(f"{plan_path} is invalid; fix it first:\n{exc}") from exc
    for step in plan.steps:
        if step.name == new.name:
            raise ScaffoldError(f"name {new.name!r} is already in {plan_path.name}")
        if step.route == new.route:
            raise ScaffoldError(f"route {new.route!r} is already used by {step.name!r}")
        if step.completion_topic == new.topic:
            raise ScaffoldError(
                f"topic {new.topic!r} is already the completion topic of {step.name!r}"
            )
    clashes = check_resource_topics(plan, [*_loadable_plugins(plan), _declared(new)])
    if clashes:
        raise ScaffoldError(f"--resource: {clashes[0]}")


def _loadable_plugins(plan: Plan) -> list[Plugin]:
    """The plugins of ``plan`` that load; the plan's own check reports the others."""
    plugins = []
    for step in plan.steps:
        with contextlib.suppress(PluginError):
            plugins.append(load_plugin(step))
    return plugins


def _declared(new: NewPlugin) -> Plugin:
    """The new plugin as it will declare itself, its structs empty stand-ins."""
    structs = {resource: msgspec.defstruct(type_, []) for resource, type_ in new.resources}
    return Plugin(name=new.name, route=new.route, resources=structs)


def create_plugin(new: NewPlugin, plugins_dir: Path) -> list[Path]:
    """Write the plugin folder and return the files written."""
    folder = plugins_dir / new.name
    files = {folder / "plugin.py": _render("plugin.py", new, **_plugin_parts(new))}
    if not new.headless:
        files[folder / "web" / f"step-{new.route}.html"] = _render("step.html", new)
        files[folder / "web" / f"step-{new.route}.js"] = _render("step.js", new)
    files[folder / f"test_{new.name}.py"] = _render("test_plugin.py", new, tests=_tests(new))
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return list(files)


def plan_block(new: NewPlugin, plugins_dir: Path, plan: Path) -> str:
    """Return the ``[[plugins]]`` entry that adds the new plugin to ``plan``."""
    base = Path(os.path.relpath(plugins_dir.resolve(), plan.resolve().parent)).as_posix()
    lines = [
        "[[plugins]]",
        f'name = "{new.name}"',
        f'plugin_route = "{new.route}"',
        'version = "0.1.0"',
        'plugin_location_type = "local"',
        f'plugin_base_path = "{base if base.startswith(".") else "./" + base}"',
    ]
    if new.headless:
        lines.append("visible_in_ui = false")
    return "\n".join(lines) + "\n"


def add_to_plan(block: str, plan: Path, *, after: str | None = None) -> None:
    """Insert ``block`` after plugin ``after`` (default: the last); undo it if the plan breaks."""
    before = plan.read_text()
    plan.write_text(_insert_block(before, block, after))
    try:
        load_plan(plan)
    except PlanError as exc:
        plan.write_text(before)
        raise ScaffoldError(f"{plan.name} was left unchanged:\n{exc}") from exc


def scaffold(
    new: NewPlugin, plugins_dir: Path, plan: Path, *, add: bool = False, after: str | None = None
) -> tuple[list[Path], str]:
    """Check, create the folder, and (with ``add``) put the entry in the plan.

    Returns the files written and the plan entry.  On any ScaffoldError
    nothing is left behind: neither the folder nor a change to the plan.
    """
    check_new(new, plugins_dir, plan)
    block = plan_block(new, plugins_dir, plan)
    if add:
        _insert_block(plan.read_text(), block, after)  # refuses a bad --after early
    files = create_plugin(new, plugins_dir)
    if add:
        try:
            add_to_plan(block, plan, after=after)
        except ScaffoldError:
            shutil.rmtree(plugins_dir / new.name)
            raise
    return files, block


def _insert_block(text: str, block: str, after: str | None) -> str:
    """Put ``block`` just after the ``[[plugins]]`` table of ``after``, or of the last plugin."""
    tables = [match.start() for match in re.finditer(r"^\[", text, re.MULTILINE)]
    plugins = [start for start in tables if text.startswith("[[plugins]]", start)]
    if after is not None:
        named = re.compile(rf'^name\s*=\s*"{re.escape(after)}"', re.MULTILINE)
        plugins = [start for start in plugins if named.search(_table_at(text, start, tables))]
        if not plugins:
            raise ScaffoldError(f"--after {after!r}: no such plugin in the plan")
    if not plugins:
        return text.rstrip("\n") + "\n\n" + block
    following = [start for start in tables if start > plugins[-1]]
    cut = following[0] if following else len(text)
    return text[:cut].rstrip("\n") + "\n\n" + block + ("\n" + text[cut:] if following else "")


def _table_at(text: str, start: int, tables: list[int]) -> str:
    following = [other for other in tables if other > start]
    return text[start : following[0] if following else len(text)]


def _render(template: str, new: NewPlugin, **parts: str) -> str:
    source = resources.files("workflow").joinpath(f"templates/{template}.tmpl").read_text()
    values = {"name": new.name, "route": new.route, "title": new.title, "topic": new.topic}
    return Template(source).substitute(values, **parts)


def _plugin_parts(new: NewPlugin) -> dict[str, str]:
    imports = "import msgspec\n\n" if new.resources else ""
    imports += "from workflow import Plugin" + (", StepContext" if new.headless else "") + "\n"
    definitions = "".join(
        f"\nclass {type_name}(msgspec.Struct, forbid_unknown_fields=True):\n"
        f'    """A {type_name} record; the engine adds its ``id``."""\n\n'
        "    name: str\n\n"
        for _, type_name in new.resources
    )
    if new.headless:
        definitions += (
            "\nasync def on_enter(step: StepContext) -> None:\n"
            '    """Do the step\'s work; complete or skip it, or raise to record a failure."""\n'
            "    await step.complete()\n\n"
        )
    mapping = ", ".join(f'"{resource}": {type_name}' for resource, type_name in new.resources)
    arguments = f"\n    resources={{{mapping}}}," if new.resources else ""
    arguments += "\n    on_enter=on_enter," if new.headless else ""
    return {"imports": imports, "definitions": definitions, "arguments": arguments}


def _tests(new: NewPlugin) -> str:
    values = {"name": new.name, "route": new.route, "topic": new.topic}
    tests = [_HEADLESS_TEST] if new.headless else [_COMPLETE_TEST, _SKIP_TEST, _PAGE_TEST]
    text = "".join(Template(test).substitute(values) for test in tests)
    for resource, _ in new.resources:
        variable = resource.replace("-", "_")
        text += Template(_RESOURCE_TEST).substitute(values, resource=resource, variable=variable)
    return text


_COMPLETE_TEST = """

async def test_${name}_completes_the_step() -> None:
    async with run_plugin(HERE) as step:
        run = await step.complete()

    assert run.status == "finished"
    assert [(h.event, h.status) for h in run.history] == [("${topic}", "completed")]
"""

_SKIP_TEST = """

async def test_${name}_can_be_skipped() -> None:
    async with run_plugin(HERE) as step:
        run = await step.complete("skipped")

    assert run.history[-1].status == "skipped"
"""

_PAGE_TEST = """

def test_${name}_page_publishes_its_completion_topic() -> None:
    script = (HERE / "web" / "step-${route}.js").read_text()

    assert "export async function activate" in script
    assert '"${topic}"' in script
"""

_HEADLESS_TEST = """

async def test_${name}_completes_by_itself() -> None:
    async with run_plugin(HERE) as step:
        run = await step.wait_until_left()

    assert run.status == "finished"
    assert run.history[-1].status == "completed"
"""

_RESOURCE_TEST = """

async def test_${name}_stores_${variable}_records() -> None:
    async with run_plugin(HERE) as step:
        store = step.records("${resource}")
        created = await store.create({"name": "example"})

        assert await store.get(created["id"]) == created
"""
