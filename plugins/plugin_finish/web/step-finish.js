const PLUGIN = "plugin_finish";
const OFFLINE = "Not connected to the server, so nothing was sent. Try again in a moment.";

function say(element, text, tone = "info") {
  element.textContent = text;
  element.className = `message message-${tone}`;
}

function describe(payload) {
  return typeof payload === "string" ? payload : JSON.stringify(payload);
}

function describeStep(name) {
  const words = String(name).replace(/^plugin_/, "").replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function renderItem(text) {
  const item = document.createElement("li");
  item.textContent = text;
  return item;
}

async function showSummary(appManager, list) {
  try {
    const response = await appManager.fetch("/api/workflow");
    if (!response.ok) {
      throw new Error(`HTTP ${response.status}`);
    }
    const run = await response.json();
    const items = run.history.map((entry) =>
      renderItem(`${describeStep(entry.from)}: ${entry.status}`),
    );
    list.replaceChildren(...(items.length ? items : [renderItem("No steps recorded yet.")]));
  } catch (error) {
    list.replaceChildren(renderItem(`The summary is not available (${error.message}).`));
  }
}

export function activate(container, appManager) {
  const finish = container.querySelector("#finish-button");
  const message = container.querySelector("#finish-message");

  appManager.registerPlugin(PLUGIN);
  appManager.subscribe(PLUGIN, "ProtocolError", (payload) => {
    say(message, `The server refused the step: ${describe(payload)}`, "error");
    finish.disabled = false;
  });
  finish.addEventListener("click", () => {
    if (appManager.publish(PLUGIN, "FinishCompleted", { status: "completed" })) {
      finish.disabled = true;
      say(message, "Finishing…");
    } else {
      say(message, OFFLINE, "error");
    }
  });
  showSummary(appManager, container.querySelector("#finish-summary"));
  return () => appManager.unregisterPlugin(PLUGIN);
}
