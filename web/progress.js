// "Step N of M" over the plan's visible steps, a bar, and the list of steps.

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

function stepPhase(index, currentIndex) {
  if (index < currentIndex) {
    return "done";
  }
  return index === currentIndex ? "current" : "todo";
}

export class Progress {
  constructor({ label, bar, list }) {
    this.label = label;
    this.bar = bar;
    this.list = list;
  }

  // failed: the step of stateName failed on the server and waits for a retry.
  show(plan, stateName, { failed = false } = {}) {
    const currentIndex = plan.states.findIndex((state) => state.name === stateName);
    const current = currentIndex < 0 ? null : plan.states[currentIndex];
    const steps = plan.states
      .map((state, index) => ({ state, phase: stepPhase(index, currentIndex) }))
      .filter(({ state }) => isVisible(state));
    const done = current ? steps.filter(({ phase }) => phase === "done").length : 0;

    this.label.textContent = describePosition(current, done, steps.length, failed);
    this.bar.max = Math.max(steps.length, 1);
    this.bar.value = done;
    this.list.replaceChildren(...steps.map((step) => this.renderStep(step)));
  }

  renderStep({ state, phase }) {
    const item = document.createElement("li");
    item.textContent = describeState(state);
    item.className = `step-${phase}`;
    item.dataset.step = state.name;
    if (phase === "current") {
      item.setAttribute("aria-current", "step");
    }
    return item;
  }
}
