// The shell's own views: placeholders in the step container and the
// connection badge. Text goes in through textContent only; a plugin page's
// HTML is parsed inertly (its scripts never run).

const STATUS_LABELS = {
  connecting: "Connecting…",
  open: "Connected",
  closed: "Reconnecting…",
  refused: "Refused by the server: check the access token in the page address (?token=…)",
};

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

export function renderPage(html) {
  const parsed = new DOMParser().parseFromString(html, "text/html");
  const fragment = document.createDocumentFragment();
  fragment.append(...parsed.body.childNodes);
  return fragment;
}

export function showConnectionStatus(connection, badge) {
  connection.addEventListener("status", ({ detail }) => {
    badge.textContent = STATUS_LABELS[detail];
    document.body.dataset.connection = detail;
  });
}
