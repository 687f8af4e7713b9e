const PLUGIN = "plugin_notifications";
const OFFLINE = "Not connected to the server, so nothing was sent. Try again in a moment.";

function say(element, text, tone = "info") {
  element.textContent = text;
  element.className = `message message-${tone}`;
}

function describe(payload) {
  return typeof payload === "string" ? payload : JSON.stringify(payload);
}

function readPreferences(form) {
  return {
    email: form.elements.email.checked,
    push: form.elements.push.checked,
    sms: form.elements.sms.checked,
    frequency: form.elements.frequency.value,
  };
}

export function activate(container, appManager) {
  const form = container.querySelector("#notifications-form");
  const save = container.querySelector("#notifications-save");
  const skip = container.querySelector("#notifications-skip");
  const message = container.querySelector("#notifications-message");

  function complete(completion, note) {
    if (appManager.publish(PLUGIN, "NotificationsCompleted", completion)) {
      save.disabled = true;
      skip.disabled = true;
      say(message, note);
    } else {
      say(message, OFFLINE, "error");
    }
  }

  appManager.registerPlugin(PLUGIN);
  appManager.subscribe(PLUGIN, "ProtocolError", (payload) => {
    say(message, `The server refused the step: ${describe(payload)}`, "error");
    save.disabled = false;
    skip.disabled = false;
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const completion = { status: "completed", data: readPreferences(form) };
    complete(completion, "Preferences saved. Moving on…");
  });
  skip.addEventListener("click", () => complete({ status: "skipped" }, "Skipped. Moving on…"));
  return () => appManager.unregisterPlugin(PLUGIN);
}
