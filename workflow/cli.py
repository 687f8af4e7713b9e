"""The ``workflow`` command: check a plan, draw it, or serve it."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from workflow.errors import PlanError, PluginError
from workflow.machine import WorkflowMachine
from workflow.plan import Plan, Step, load_plan
from workflow.plugin import check_resource_topics, load_plugin
from workflow.scaffold import (
    NewPlugin,
    ScaffoldError,
    parse_resource,
    scaffold,
)
from workflow.settings import OPTIONS

__all__ = ["main"]

Command = Callable[[argparse.Namespace], int]


def check(args: argparse.Namespace) -> int:
    """Validate a plan and its plugins; print a summary, or every problem."""
    try:
        plan = load_plan(args.plan)
        problems = _plugin_problems(plan)
    except PlanError as exc:
        problems = list(exc.problems)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    walk = " -> ".join(step.name for step in plan.steps)
    steps = f"{len(plan.steps)} step{'s' if len(plan.steps) != 1 else ''}"
    remote = plan.general.update_from
    note = f"; update_from {remote} is not fetched yet" if remote else ""
    print(f"{args.plan}: ok, plan {plan.version}, {steps}: {walk} -> finished{note}")
    return 0


def graph(args: argparse.Namespace) -> int:
    """Print the plan as a Mermaid state diagram."""
    try:
        plan = load_plan(args.plan)
    except PlanError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(WorkflowMachine(plan).draw())
    return 0


def new_plugin(args: argparse.Namespace) -> int:
    """Create a plugin folder from templates and print (or add) its plan entry."""
    plugins_dir, plan = Path(args.plugins_dir), Path(args.plan)
    if args.after and not args.add_to_plan:
        print(
            "workflow new-plugin: --after places the step in the plan: add --add-to-plan",
            file=sys.stderr,
        )
        return 1
    try:
        resources = tuple(parse_resource(spec) for spec in args.resource)
        new = NewPlugin(args.name, args.route, resources, args.headless)
        files, block = scaffold(new, plugins_dir, plan, add=args.add_to_plan, after=args.after)
    except ScaffoldError as exc:
        print(f"workflow new-plugin: {exc}", file=sys.stderr)
        return 1
    for path in files:
        print(f"created {path}")
    if args.add_to_plan:
        print(f"added {new.name} to {plan}")
    else:
        print(f"\nadd this to {plan}:\n\n{block}")
    return 0


def serve(args: argparse.Namespace) -> int:
    """Serve the plan over HTTP and WebSocket until interrupted."""
    from api.serve import run_serve  # here, so that check and graph never need api/

    return run_serve(args)


def _plugin_problems(plan: Plan) -> list[str]:
    problems, plugins = [], []
    for step in plan.steps:
        try:
            plugins.append(load_plugin(step))
        except PluginError as exc:
            problems.append(str(exc))
        problems.extend(_page_problems(plan, step))
    return problems + check_resource_topics(plan, plugins)


def _page_problems(plan: Plan, step: Step) -> list[str]:
    """A visible step needs its page pair; say which file is missing."""
    if not step.visible_in_ui:
        return []
    pages = [step.folder / "web" / f"step-{step.route}.{kind}" for kind in ("html", "js")]
    return [
        f"{plan.path.name}: {step.name}: visible_in_ui is true but {page.name} is missing "
        f"from {step.name}/web/; add the page, or set visible_in_ui = false"
        for page in pages
        if not page.is_file()
    ]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workflow", description=__doc__)
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logging level (default INFO)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    checker = commands.add_parser("check", help="validate a plan and its plugins")
    checker.add_argument("plan", help="path of the execution plan (TOML)")
    checker.set_defaults(handler=check)
    drawer = commands.add_parser("graph", help="print the plan as a Mermaid state diagram")
    drawer.add_argument("plan", help="path of the execution plan (TOML)")
    drawer.set_defaults(handler=graph)
    server = commands.add_parser("serve", help="serve the plan: REST, WebSocket and web shell")
    for option in OPTIONS:
        help_text = f"{option.help}; env {option.variable}"
        if option.switch:
            server.add_argument(
                option.flag, dest=option.name, action="store_const", const="1", help=help_text
            )
        else:
            server.add_argument(option.flag, dest=option.name, help=help_text)
    server.set_defaults(handler=serve)
    _add_new_plugin(commands)
    return parser


def _add_new_plugin(commands: Any) -> None:
    creator = commands.add_parser(
        "new-plugin", help="create a plugin folder: plugin.py, its page and a test"
    )
    creator.add_argument("name", help="plugin name, [a-z0-9_]+ (also its folder)")
    creator.add_argument("--route", required=True, help="URL route, [a-z0-9-]+")
    creator.add_argument(
        "--resource",
        action="append",
        default=[],
        metavar="NAME:Type",
        help="a resource with REST CRUD, e.g. device:Device (repeatable)",
    )
    creator.add_argument("--headless", action="store_true", help="a server-side step with no page")
    creator.add_argument(
        "--plan", default="execution_plan.toml", help="the plan (default ./execution_plan.toml)"
    )
    creator.add_argument(
        "--plugins-dir", default="plugins", help="where plugin folders live (default ./plugins)"
    )
    creator.add_argument("--add-to-plan", action="store_true", help="append the entry to the plan")
    creator.add_argument(
        "--after", metavar="NAME", help="with --add-to-plan: place the step after this plugin"
    )
    creator.set_defaults(handler=new_plugin)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    handler: Command = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
