const PLUGIN = "plugin_welcome";
const OFFLINE = "Not connected to the server, so nothing was sent. Try again in a moment.";

function say(element, text, tone = "info") {
  element.textContent = text;
  element.className = `message message-${tone}`;
}

function describe(payload) {
  return typeof payload === "string" ? payload : JSON.stringify(payload);
}

export function activate(container, appManager) {
  const start = container.querySelector("#welcome-start");
  const message = container.querySelector("#welcome-message");

  appManager.registerPlugin(PLUGIN);
  appManager.subscribe(PLUGIN, "ProtocolError", (payload) => {
    say(message, `The server refused the step: ${describe(payload)}`, "error");
    start.disabled = false;
  });
  start.addEventListener("click", () => {
    if (appManager.publish(PLUGIN, "WelcomeCompleted", { status: "completed" })) {
      start.disabled = true;
      say(message, "Starting…");
    } else {
      say(message, OFFLINE, "error");
    }
  });
  return () => appManager.unregisterPlugin(PLUGIN);
}
