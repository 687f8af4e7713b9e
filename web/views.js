// The shell's own views: placeholders in the step container and the
// connection badge. Text goes in through textContent only; a plugin page's
// HTML is parsed inertly (its scripts never run).

const STATUS_LABELS = {
  connecting: "Connecting…",
  open: "Connected",
  closed: "Reconnecting…",
  refused: "Refused by the server: check the access token in the page address (?token=…)",
};
const STORAGE_AWAY_LABEL = "Connected; the server's storage is unavailable, waiting for it";

function element(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text) {
    node.textContent = text;
  }
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, value);
  }
  return node;
}

function panel(id, ...children) {
  const node = element("section", "", { id, class: "panel" });
  node.append(...children);
  return node;
}

export function renderLoading(label) {
  return panel("step-loading", element("p", `Loading ${label}…`, { class: "muted" }));
}

export function renderWorking(label) {
  return panel(
    "step-working",
    element("h2", "Working…"),
    element("p", `${label} is running on the server. This page moves on by itself.`),
  );
}

function setMessage(node, text, tone) {
  node.textContent = text;
  node.className = `message message-${tone}`;
}

// A server-side step failed: which one, the reason the server recorded, and a
// retry. onRetry() resolves to null once the server has taken the retry (the
// router then shows "Working…"), else to the text of its refusal, shown here.
export function renderStepFailed(label, reason, onRetry) {
  const retry = element("button", "Try again", { type: "button", id: "step-failed-retry" });
  const status = element("p", "", { id: "step-failed-message", class: "message", role: "status" });
  retry.addEventListener("click", async () => {
    retry.disabled = true;
    setMessage(status, "Asking the server to run the step again…", "info");
    const refusal = await onRetry();
    if (refusal !== null) {
      setMessage(status, refusal, "error");
      retry.disabled = false;
    }
  });
  const actions = element("div", "", { class: "actions" });
  actions.append(retry);
  return panel(
    "step-failed",
    element("h2", `${label} did not finish`),
    element("p", `The step “${label}” failed on the server. The reason it gave:`),
    element("p", reason, { id: "step-failed-reason", class: "failure-reason", role: "alert" }),
    element("p", "Put right what the reason names, then try again.", { class: "muted" }),
    actions,
    status,
  );
}

export function renderFinished() {
  return panel(
    "workflow-finished",
    element("h2", "All done"),
    element("p", "Every step of the onboarding is complete. You can close this page."),
  );
}

export function renderFailure(title, detail, onRetry) {
  const retry = element("button", "Try again", { type: "button", id: "step-retry" });
  retry.addEventListener("click", onRetry);
  const actions = element("div", "", { class: "actions" });
  actions.append(retry);
  return panel(
    "step-error",
    element("h2", title),
    element("p", detail, { class: "message message-error", role: "alert" }),
    actions,
  );
}

// The server answered, but cannot reach its storage: say so plainly, keep
// the server's own words under "Technical details", and offer a retry
// (the shell also goes on by itself once the storage is back).
export function renderStorageUnavailable(detail, onRetry) {
  const retry = element("button", "Try again", { type: "button", id: "step-retry" });
  retry.addEventListener("click", onRetry);
  const actions = element("div", "", { class: "actions" });
  actions.append(retry);
  const technical = element("details", "", { class: "technical" });
  technical.append(
    element("summary", "Technical details"),
    element("p", detail, { class: "technical-detail" }),
  );
  const goesOn = "This page goes on by itself once it is back; there is no need to reload it.";
  return panel(
    "storage-unavailable",
    element("h2", "The server cannot reach its storage right now"),
    element("p", goesOn),
    actions,
    technical,
  );
}

export function renderPage(html) {
  const parsed = new DOMParser().parseFromString(html, "text/html");
  const fragment = document.createDocumentFragment();
  fragment.append(...parsed.body.childNodes);
  return fragment;
}

// The badge says how the page is connected and, once connected, whether the
// server has its storage (storage: a ServerStorage, if the page follows it).
// The server's own words on an outage go in the badge's title.
export function showConnectionStatus(connection, badge, storage = null) {
  const update = () => {
    const storageAway = connection.status === "open" && storage !== null && !storage.isAvailable;
    badge.textContent = storageAway ? STORAGE_AWAY_LABEL : STATUS_LABELS[connection.status];
    if (storageAway && storage.detail) {
      badge.title = storage.detail;
    } else {
      badge.removeAttribute("title");
    }
    document.body.dataset.connection = connection.status;
    if (storage !== null) {
      document.body.dataset.backend = storage.status;
    }
  };
  connection.addEventListener("status", update);
  storage?.addEventListener("change", update);
}
