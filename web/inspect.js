// The inspector page: the plan with the selected run's state marked, the run's
// history and graph, a run selector, and live topic traffic. All as text.

import { createAppManager, readAccessToken } from "./app-manager.js";
import { Connection, buildSocketUrl, createClientName } from "./connection.js";
import { getJson, getText } from "./http.js";
import { ServerStorage } from "./storage.js";
import { TrafficLog } from "./traffic.js";
import { showConnectionStatus } from "./views.js";

const NAME = "inspector";
const WATCHED = [
  "WorkflowUpdated",
  "WorkflowCompleted",
  "SwitchRoute",
  "DeviceUpdated",
  "ProtocolError",
];
const RUN_FIELDS = ["id", "state", "status", "seq", "plan_version", "started_at", "updated_at"];
// `error` is there only for a failed server-side step: the reason it gave.
const HISTORY_FIELDS = ["from", "to", "event", "status", "publisher", "at", "error"];

const byId = (id) => document.getElementById(id);

function renderRow(values) {
  const row = document.createElement("tr");
  for (const value of values) {
    const cell = document.createElement("td");
    cell.textContent = value === null || value === undefined ? "" : String(value);
    row.append(cell);
  }
  return row;
}

function renderHistoryRow(entry, index) {
  const row = renderRow([index + 1, ...HISTORY_FIELDS.map((field) => entry[field])]);
  row.classList.toggle("failed", Boolean(entry.error));
  return row;
}

function renderOption(id) {
  const option = document.createElement("option");
  option.value = id;
  option.textContent = id;
  return option;
}

function describePlanState(state, isCurrent) {
  const parts = [isCurrent ? `▶ ${state.name} (current)` : state.name];
  if (state.route) {
    const page = state.visible_in_ui === false ? "headless" : `page /${state.route}/web`;
    parts.push(page, `completes on ${state.completion_topic}`);
  }
  return parts.join(" · ");
}

class Inspector {
  constructor(appManager) {
    this.appManager = appManager;
    this.plan = null;
    this.runIds = new Set();
    this.runId = new URLSearchParams(location.search).get("run") || "default";
    this.request = 0;
  }

  async refresh() {
    try {
      await Promise.all([this.loadPlan(), this.loadRuns()]);
      await this.loadRun();
      this.showError(null);
    } catch (error) {
      this.showError(error);
    }
  }

  select(runId) {
    this.runId = runId;
    this.loadRun().catch((error) => this.showError(error));
  }

  handleRunEvent(event) {
    if (event?.run === this.runId) {
      this.loadRun().catch((error) => this.showError(error));
    }
    if (event?.run && !this.runIds.has(event.run)) {
      this.loadRuns().catch((error) => this.showError(error));
    }
  }

  async loadPlan() {
    this.plan = await getJson(this.appManager.fetch, "/api/workflow/plan");
    byId("plan-version").textContent = `version ${this.plan.version}`;
  }

  async loadRuns() {
    const runs = await getJson(this.appManager.fetch, "/api/workflow/runs");
    this.runIds = new Set(runs.map((run) => run.id));
    const ids = new Set([this.runId, ...this.runIds]);
    const select = byId("run-select");
    select.replaceChildren(...[...ids].map(renderOption));
    select.value = this.runId;
  }

  async loadRun() {
    const request = ++this.request;
    const id = encodeURIComponent(this.runId);
    const graphUrl = `/api/workflow/graph?run=${id}`;
    const [run, graph] = await Promise.all([
      getJson(this.appManager.fetch, `/api/workflow/runs/${id}`),
      getText(this.appManager.fetch, graphUrl).catch((error) => `(no graph: ${error.message})`),
    ]);
    // A newer selection or update may have answered first; keep the newest.
    if (request === this.request) {
      this.renderRun(run, graph);
    }
  }

  renderRun(run, graph) {
    const summary = RUN_FIELDS.map((field) => renderRow([field, run[field]]));
    byId("run-summary").tBodies[0].replaceChildren(...summary);
    const history = (run.history ?? []).map(renderHistoryRow);
    byId("history-table").tBodies[0].replaceChildren(...history);
    byId("run-graph").textContent = graph;
    this.renderPlan(run.state);
  }

  renderPlan(current) {
    const items = (this.plan?.states ?? []).map((state) => {
      const item = document.createElement("li");
      const isCurrent = state.name === current;
      item.textContent = describePlanState(state, isCurrent);
      item.dataset.state = state.name;
      item.classList.toggle("current", isCurrent);
      if (isCurrent) {
        item.setAttribute("aria-current", "step");
      }
      return item;
    });
    byId("plan-states").replaceChildren(...items);
  }

  showError(error) {
    const element = byId("inspect-error");
    element.hidden = error === null;
    element.textContent = error === null ? "" : String(error.message ?? error);
  }
}

function watchTraffic(appManager) {
  const traffic = new TrafficLog({
    rows: byId("traffic-table").tBodies[0],
    topicList: byId("topic-list"),
    appManager,
    // Its own name, so that unsubscribing in the log leaves the run view subscribed.
    name: `${NAME}-traffic`,
  });
  WATCHED.forEach((topic) => traffic.add(topic));
  byId("topic-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = byId("topic-input");
    if (traffic.add(input.value.trim())) {
      input.value = "";
    }
  });
  byId("traffic-clear").addEventListener("click", () => traffic.clear());
}

function startInspector() {
  const token = readAccessToken();
  const connection = new Connection(buildSocketUrl(token), createClientName(NAME));
  const appManager = createAppManager(connection, token);
  const inspector = new Inspector(appManager);
  const storage = new ServerStorage();

  if (token) {
    byId("shell-link").search = `?token=${encodeURIComponent(token)}`;
  }
  showConnectionStatus(connection, byId("connection-status"), storage);
  storage.follow(appManager, NAME, () => inspector.refresh());
  appManager.subscribe(NAME, "WorkflowUpdated", (event) => inspector.handleRunEvent(event));
  appManager.subscribe(NAME, "WorkflowCompleted", (event) => inspector.handleRunEvent(event));
  watchTraffic(appManager);
  byId("run-select").addEventListener("change", (event) => inspector.select(event.target.value));
  byId("runs-refresh").addEventListener("click", () => inspector.refresh());
  connection.addEventListener("open", () => inspector.refresh());
  connection.connect();
  inspector.refresh();
  window.appManager = appManager;
}

startInspector();
