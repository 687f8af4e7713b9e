"""The ``workflow`` command: check a plan, draw it, or serve it."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from workflow.errors import PlanError, PluginError
from workflow.machine import WorkflowMachine
from workflow.plan import Plan, load_plan
from workflow.plugin import load_plugin

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
    print(f"{args.plan}: ok, plan {plan.version}, {len(plan.steps)} steps: {walk} -> finished")
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


def _plugin_problems(plan: Plan) -> list[str]:
    problems = []
    for step in plan.steps:
        try:
            load_plugin(step)
        except PluginError as exc:
            problems.append(str(exc))
    return problems


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
    return parser


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
