const PLUGIN = "plugin_terms";
const OFFLINE = "Not connected to the server, so nothing was sent. Try again in a moment.";

function say(element, text, tone = "info") {
  element.textContent = text;
  element.className = `message message-${tone}`;
}

function describe(payload) {
  return typeof payload === "string" ? payload : JSON.stringify(payload);
}

export function activate(container, appManager) {
  const accept = container.querySelector("#terms-accept");
  const proceed = container.querySelector("#terms-continue");
  const message = container.querySelector("#terms-message");

  appManager.registerPlugin(PLUGIN);
  appManager.subscribe(PLUGIN, "ProtocolError", (payload) => {
    say(message, `The server refused the step: ${describe(payload)}`, "error");
    proceed.disabled = !accept.checked;
  });
  accept.addEventListener("change", () => {
    proceed.disabled = !accept.checked;
  });
  proceed.addEventListener("click", () => {
    const completion = { status: "completed", data: { accepted: true } };
    if (appManager.publish(PLUGIN, "TermsCompleted", completion)) {
      proceed.disabled = true;
      say(message, "Thank you. Moving on…");
    } else {
      say(message, OFFLINE, "error");
    }
  });
  return () => appManager.unregisterPlugin(PLUGIN);
}
