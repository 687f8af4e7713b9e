// "Step N of M" over the plan's visible steps, a bar, and the list of steps,
// each marked done, skipped, current or to do.

export const FINISHED = "finished";

export function isVisible(state) {
  return Boolean(state.route) && state.visible_in_ui !== false;
}

export function describeState(state) {
  const words = state.name.replace(/^plugin_/, "").replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function describePosition(current, done, total, failed) {
  if (current === null) {
    return "";
  }
  if (current.name === FINISHED) {
    return `All ${total} steps done`;
  }
  if (failed) {
    return `A step failed: ${done} of ${total} steps done`;
  }
  if (isVisible(current)) {
    return `Step ${done + 1} of ${total}`;
  }
  return `Working… ${done} of ${total} steps done`;
}

// How the run left each step it has left: state name -> "completed" or
// "skipped". Entries with an error are failed tries of a server-side step,
// not steps taken.
export function readOutcomes(history = []) {
  const taken = history.filter((entry) => !entry.error);
  return new Map(taken.map((entry) => [entry.from, entry.status]));
}

function stepPhase(index, currentIndex, outcome) {
  if (index < currentIndex) {
    return outcome === "skipped" ? "skipped" : "done";
  }
  return index === currentIndex ? "current" : "todo";
}

function isPassed({ phase }) {
  return phase === "done" || phase === "skipped";
}

export class Progress {
  constructor({ label, bar, list }) {
    this.label = label;
    this.bar = bar;
    this.list = list;
    this.outcomes = new Map();
    this.shown = null;
  }

  // outcomes: from readOutcomes; the list is drawn again with them.
  setOutcomes(outcomes) {
    this.outcomes = outcomes;
    if (this.shown) {
      this.show(...this.shown);
    }
  }

  // failed: the step of stateName failed on the server and waits for a retry.
  show(plan, stateName, { failed = false } = {}) {
    this.shown = [plan, stateName, { failed }];
    const currentIndex = plan.states.findIndex((state) => state.name === stateName);
    const current = currentIndex < 0 ? null : plan.states[currentIndex];
    const steps = plan.states
      .map((state, index) => {
        const phase = stepPhase(index, currentIndex, this.outcomes.get(state.name));
        return { state, phase };
      })
      .filter(({ state }) => isVisible(state));
    const done = current ? steps.filter(isPassed).length : 0;

    this.label.textContent = describePosition(current, done, steps.length, failed);
    this.bar.max = Math.max(steps.length, 1);
    this.bar.value = done;
    this.list.replaceChildren(...steps.map((step) => this.renderStep(step)));
  }

  renderStep({ state, phase }) {
    const item = document.createElement("li");
    const label = describeState(state);
    item.textContent = phase === "skipped" ? `${label} (skipped)` : label;
    item.className = `step-${phase}`;
    item.dataset.step = state.name;
    if (phase === "current") {
      item.setAttribute("aria-current", "step");
    }
    return item;
  }
}
