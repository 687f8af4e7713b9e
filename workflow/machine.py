"""The plan compiled into a ``transitions`` state machine.

One machine serves every run.  Runs are plain records, so the machine holds a
single cursor model: it is put in the run's state, triggered, and read back,
all without awaiting.  That keeps memory flat however many runs there are
(transitions keeps every model it was given until it is removed) and needs
no queue, whose failing events drop the ones behind them.
"""

from __future__ import annotations

import re
from typing import Any

from transitions import Machine, MachineError
from transitions.extensions.diagrams import GraphMachine

from workflow.errors import CompletionNotApplicable
from workflow.plan import Plan

__all__ = ["WorkflowMachine"]


class _Cursor:
    """The model the machine moves; ``state`` is set by transitions."""

    state: str


class WorkflowMachine:
    """The states and transitions of a plan, and the moves between them."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self._cursor = _Cursor()
        self._machine = Machine(
            model=self._cursor,
            states=list(plan.states),
            transitions=self._transition_specs(),
            initial=plan.start,
            auto_transitions=False,
            queued=False,
        )
        self._triggers = {step.completion_topic: step.name for step in plan.steps}
        self._graph: GraphMachine | None = None

    @property
    def start(self) -> str:
        return self.plan.start

    def is_completion_topic(self, topic: str) -> bool:
        """Tell whether ``topic`` completes some step of the plan."""
        return topic in self._triggers

    def state_completed_by(self, topic: str) -> str | None:
        """Return the state that ``topic`` completes, or None."""
        return self._triggers.get(topic)

    def next_state(self, state: str, trigger: str) -> str:
        """Fire ``trigger`` from ``state`` and return the state it leads to.

        Raises CompletionNotApplicable when the trigger does not leave ``state``.
        """
        self._machine.set_state(state, self._cursor)
        try:
            self._cursor.trigger(trigger)  # type: ignore[attr-defined]
        except MachineError as exc:
            raise CompletionNotApplicable(
                f"{trigger!r} does not complete state {state!r}"
            ) from exc
        return self._cursor.state

    def draw(self, state: str | None = None) -> str:
        """Return the plan as a Mermaid ``stateDiagram-v2``, ``state`` (if any) styled as active."""
        graph = self._graph_machine()
        graph.set_state(state or self.start)
        text: str = graph.get_graph(force_new=True).draw(None)
        # transitions writes "Class"; Mermaid's keyword is "class", or the styling is lost
        text = re.sub(r"^(\s*)Class ", r"\1class ", text, flags=re.MULTILINE)
        # and a bare title line in the front matter, which Mermaid reads only as "title: ..."
        text = re.sub(r"\A---\n(?!title:)(.*)\n---", r"---\ntitle: \1\n---", text)
        if state is None:  # the plan alone: no state is current
            text = text.replace(f"class {self.start} s_active", f"class {self.start} s_default")
        return text

    def _graph_machine(self) -> GraphMachine:
        if self._graph is None:
            self._graph = GraphMachine(
                states=list(self.plan.states),
                transitions=self._transition_specs(),
                initial=self.start,
                auto_transitions=False,
                graph_engine="mermaid",
                show_state_attributes=False,
                title=f"{self.plan.general.product_family} {self.plan.version}",
            )
        return self._graph

    def _transition_specs(self) -> list[dict[str, Any]]:
        return [
            {"trigger": t.trigger, "source": t.source, "dest": t.dest}
            for t in self.plan.transitions
        ]
