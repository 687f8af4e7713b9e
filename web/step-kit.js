// Helpers for plugin step pages (import from "/shell/step-kit.js"): status
// messages, the server's refusals of a step, and publishing a step's
// completion. Text goes in through textContent only.

export const OFFLINE = "Not connected to the server, so nothing was sent. Try again in a moment.";
export const MOVED_ON = "This step was already done elsewhere (another tab?). Following along…";

const COMPLETED = Object.freeze({ status: "completed" });

// Show text in a message element; tone is "info", "ok" or "error".
export function say(element, text, tone = "info") {
  element.textContent = text;
  element.className = `message message-${tone}`;
}

// A payload as readable text: strings as they are, anything else as JSON.
export function describe(payload) {
  return typeof payload === "string" ? payload : JSON.stringify(payload);
}

// A refusal that only says the run has moved on, e.g. another tab completed
// the step first. No error: the shell follows the run to its current step.
export function isMovedOnRefusal(payload) {
  return /is in state|is finished/.test(describe(payload));
}

// When the server refuses the plugin's step (a ProtocolError), show why in
// message and call onRefused(payload), e.g. to enable the buttons again. A
// refusal because the run moved on is no error: the shell is about to show
// the run's current step instead.
export function showRefusals(appManager, plugin, message, onRefused = () => {}) {
  appManager.subscribe(plugin, "ProtocolError", (payload) => {
    if (isMovedOnRefusal(payload)) {
      say(message, MOVED_ON);
    } else {
      say(message, `The server refused the step: ${describe(payload)}`, "error");
    }
    onRefused(payload);
  });
}

// Publish the step's completion. Sent: disable the controls and say busyText.
// Not sent (offline): say so and leave the controls as they are.
export function sendCompletion(appManager, options) {
  const { plugin, topic, message, payload = COMPLETED, busyText, disable = [] } = options;
  if (!appManager.publish(plugin, topic, payload)) {
    say(message, OFFLINE, "error");
    return false;
  }
  for (const control of disable) {
    control.disabled = true;
  }
  say(message, busyText);
  return true;
}

function payloadNow(payload) {
  return typeof payload === "function" ? payload() : payload;
}

// A click on options.button sends the completion (see sendCompletion). The
// payload, { status: "completed" } unless given, may be a function called at
// click time; disable defaults to [button].
export function completeOnClick(appManager, options) {
  const { button, payload, disable = [button] } = options;
  button.addEventListener("click", () => {
    sendCompletion(appManager, { ...options, payload: payloadNow(payload), disable });
  });
}

// Submitting options.form sends the completion instead of loading a page;
// the payload may be a function called at submit time, as for completeOnClick.
export function completeOnSubmit(appManager, options) {
  const { form, payload } = options;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sendCompletion(appManager, { ...options, payload: payloadNow(payload) });
  });
}
