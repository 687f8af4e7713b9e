// Shows the default run's current step: loads the plugin page on start-up,
// on SwitchRoute and on WorkflowUpdated, and tears the previous step down.
// A server-side step that failed is shown with its reason and a retry.
// While the server cannot reach its storage it says so, asks again now and
// then, and goes on once it answers (or at once when resync() is called).
// Dispatches "step" (detail: the state name) whenever another step is shown.

import { getJson, getText, post } from "./http.js";
import { FINISHED, describeState, isVisible, readOutcomes } from "./progress.js";
import { AVAILABLE, UNAVAILABLE, isStorageAway } from "./storage.js";
import * as views from "./views.js";

const SHELL_NAME = "web-shell";
const DEFAULT_RUN = "default";
const STEP_FAILED = "StepFailed";
// How often to ask again while the server cannot reach its storage, in case
// its BackendStatus "available" does not reach this page.
const STORAGE_RETRY_MS = 5000;

export function parseSwitchRoute(payload) {
  const match = /^\/?([a-z0-9-]+)\/web\/?$/.exec(String(payload).trim());
  return match ? match[1] : null;
}

function describeError(error) {
  return error instanceof Error ? error.message : String(error);
}

// The run waits in a state whose server-side step failed when its last history
// entry carries the step's error and left it in that state.
export function findStepFailure(run) {
  const last = run?.history?.at(-1);
  if (run?.status !== "running" || !last?.error || last.to !== run.state) {
    return null;
  }
  return { state: run.state, reason: String(last.error), seq: run.seq };
}

export class Router extends EventTarget {
  constructor({ container, progress, appManager, connection, storage }) {
    super();
    this.container = container;
    this.progress = progress;
    this.appManager = appManager;
    this.connection = connection;
    this.storage = storage;
    this.syncTimer = null;
    this.plan = null;
    this.lastSeq = -1;
    this.shown = null;
    this.failure = null;
    this.generation = 0;
    this.active = null;
  }

  start() {
    const { appManager } = this;
    appManager.registerPlugin(SHELL_NAME);
    appManager.subscribe(SHELL_NAME, "SwitchRoute", (p) => this.handleSwitchRoute(p));
    appManager.subscribe(SHELL_NAME, "WorkflowUpdated", (p) => this.handleUpdated(p));
    appManager.subscribe(SHELL_NAME, "WorkflowCompleted", (p) => this.handleCompleted(p));
    this.connection.addEventListener("open", () => this.resync());
    return this.sync();
  }

  resync() {
    // While we were away the engine may have moved on, or restarted with a
    // fresh run whose seq starts again from zero: trust the server's answer.
    this.lastSeq = -1;
    return this.sync();
  }

  // The name of the plugin whose page is on screen, or null.
  get activeStep() {
    return this.active?.name ?? null;
  }

  async sync() {
    clearTimeout(this.syncTimer);
    let plan;
    let run;
    try {
      [plan, run] = await Promise.all([
        getJson(this.appManager.fetch, "/api/workflow/plan"),
        getJson(this.appManager.fetch, "/api/workflow"),
      ]);
    } catch (error) {
      this.showSyncFailure(error);
      return;
    }
    this.storage.set(AVAILABLE);
    this.plan = plan;
    if (!(run.seq < this.lastSeq)) {
      this.lastSeq = run.seq;
      this.progress.setOutcomes(readOutcomes(run.history));
      this.show(run.status === "finished" ? FINISHED : run.state, findStepFailure(run));
    }
  }

  // WorkflowUpdated says where the run went, not whether the step it left was
  // completed or skipped: the run's history does, for the progress list.
  async refreshOutcomes() {
    let run;
    try {
      run = await getJson(this.appManager.fetch, "/api/workflow");
    } catch (error) {
      console.warn("[router] the progress list keeps what it knew:", error);
      return;
    }
    if (run.seq >= this.lastSeq) {
      this.progress.setOutcomes(readOutcomes(run.history));
    }
  }

  handleSwitchRoute(payload) {
    const route = parseSwitchRoute(payload);
    const state = this.plan?.states.find((candidate) => candidate.route === route);
    if (route === null) {
      console.warn("[router] ignored SwitchRoute payload:", payload);
    } else if (state) {
      // It names the step only: whether that step failed is for WorkflowUpdated to say.
      if (state.name !== this.shown) {
        this.show(state.name);
      }
    } else {
      this.sync();
    }
  }

  handleUpdated(update) {
    if (update?.run !== DEFAULT_RUN || !(update.seq >= this.lastSeq)) {
      return;
    }
    const name = update.status === "finished" ? FINISHED : update.state;
    if (update.event === STEP_FAILED || !this.findState(name)) {
      // The update does not carry the step's reason; the run's history does.
      this.sync();
      return;
    }
    this.lastSeq = update.seq;
    this.show(name);
    this.refreshOutcomes();
  }

  handleCompleted(done) {
    if (!this.plan) {
      this.sync();
    } else if (done?.run === DEFAULT_RUN && done.seq >= this.lastSeq) {
      this.lastSeq = done.seq;
      this.show(FINISHED);
    }
  }

  findState(name) {
    return this.plan?.states.find((state) => state.name === name) ?? null;
  }

  // failure: from findStepFailure, when the step of `name` failed on the server.
  async show(name, failure = null) {
    if (name === this.shown && this.failure?.seq === failure?.seq) {
      return;
    }
    if (name !== this.shown) {
      this.dispatchEvent(new CustomEvent("step", { detail: name }));
    }
    this.shown = name;
    this.failure = failure;
    const generation = ++this.generation;
    this.progress.show(this.plan, name, { failed: failure !== null });
    await this.leaveStep();
    if (generation === this.generation) {
      await this.enter(name, failure, generation);
    }
  }

  async enter(name, failure, generation) {
    const state = this.findState(name);
    if (name === FINISHED) {
      this.render(views.renderFinished(), "finished", name);
    } else if (!state) {
      this.showFailure(name, name, "The server named a step that is not in the plan.");
    } else if (failure) {
      this.showStepFailed(state, failure);
    } else if (!isVisible(state)) {
      this.render(views.renderWorking(describeState(state)), "working", name);
    } else {
      await this.enterStep(state, generation);
    }
  }

  async enterStep(state, generation) {
    const base = `/${state.route}/web/step-${state.route}`;
    this.render(views.renderLoading(describeState(state)), "loading", state.name);
    try {
      const html = await getText(this.appManager.fetch, `${base}.html`);
      const module = await import(`${base}.js`);
      if (generation !== this.generation) {
        return;
      }
      if (typeof module.activate !== "function") {
        throw new Error(`${base}.js does not export an activate(container, appManager) function`);
      }
      this.render(views.renderPage(html), "step", state.name);
      this.active = { name: state.name, cleanup: null };
      const cleanup = await module.activate(this.container, this.appManager);
      await this.keepCleanup(state.name, cleanup, generation);
    } catch (error) {
      if (generation === this.generation) {
        this.showFailure(state.name, describeState(state), describeError(error));
      }
    }
  }

  async keepCleanup(name, cleanup, generation) {
    const step = { name, cleanup: typeof cleanup === "function" ? cleanup : null };
    if (generation === this.generation) {
      this.active = step;
    } else {
      // The run moved on while the page was activating: undo it at once.
      await this.runCleanup(step);
    }
  }

  async leaveStep() {
    const step = this.active;
    this.active = null;
    if (step) {
      await this.runCleanup(step);
    }
  }

  async runCleanup(step) {
    try {
      await step.cleanup?.();
    } catch (error) {
      console.error(`[router] cleanup of ${step.name} failed:`, error);
    }
    // A page that forgot to unregister must not keep its subscriptions.
    this.appManager.unregisterPlugin(step.name);
  }

  showStepFailed(state, failure) {
    const retry = () => this.retryStep(failure);
    const node = views.renderStepFailed(describeState(state), failure.reason, retry);
    this.render(node, "failed", state.name);
  }

  // Resolves to null once the server runs the step again, else to why it does not.
  async retryStep(failure) {
    try {
      await post(this.appManager.fetch, `/api/workflow/runs/${DEFAULT_RUN}/retry`);
    } catch (error) {
      return `The server did not run the step again: ${error.reason ?? describeError(error)}`;
    }
    // Unless the retry has already failed again or moved on: back to "Working…".
    if (this.failure === failure) {
      this.show(failure.state);
    }
    return null;
  }

  render(node, view, name) {
    this.container.replaceChildren(node);
    this.container.dataset.view = view;
    this.container.dataset.state = name;
  }

  showFailure(name, label, detail) {
    this.shown = null;
    const title = `Could not show the step “${label}”`;
    this.render(views.renderFailure(title, detail, () => this.sync()), "error", name);
  }

  showSyncFailure(error) {
    const storageAway = isStorageAway(error);
    if (storageAway) {
      this.storage.set(UNAVAILABLE, error.reason);
      clearTimeout(this.syncTimer);
      this.syncTimer = setTimeout(() => this.sync(), STORAGE_RETRY_MS);
    }
    // A step already on screen stays usable; only an empty shell shows the error.
    if (this.shown !== null) {
      return;
    }
    const retry = () => this.sync();
    if (storageAway) {
      this.render(views.renderStorageUnavailable(describeError(error), retry), "unavailable", "");
    } else {
      const node = views.renderFailure("Could not reach the server", describeError(error), retry);
      this.render(node, "error", "");
    }
  }
}
