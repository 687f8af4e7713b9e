import { completeOnClick, showRefusals } from "/shell/step-kit.js";

const PLUGIN = "plugin_finish";

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
    // Entries with an error are failed tries of a server-side step, not steps taken.
    const items = run.history
      .filter((entry) => !entry.error)
      .map((entry) => renderItem(`${describeStep(entry.from)}: ${entry.status}`));
    list.replaceChildren(...(items.length ? items : [renderItem("No steps recorded yet.")]));
  } catch (error) {
    list.replaceChildren(renderItem(`The summary is not available (${error.message}).`));
  }
}

export function activate(container, appManager) {
  const finish = container.querySelector("#finish-button");
  const message = container.querySelector("#finish-message");

  appManager.registerPlugin(PLUGIN);
  showRefusals(appManager, PLUGIN, message, () => {
    finish.disabled = false;
  });
  completeOnClick(appManager, {
    plugin: PLUGIN,
    topic: "FinishCompleted",
    button: finish,
    message,
    busyText: "Finishing…",
  });
  showSummary(appManager, container.querySelector("#finish-summary"));
  return () => appManager.unregisterPlugin(PLUGIN);
}
