// Helpers for plugin step pages (import from "/shell/step-kit.js"): status
// messages, the server's refusals of a step, and publishing a step's
// completion. Text goes in through textContent only.

import {
  MOVED_ON,
  NEEDS_TOKEN,
  describe,
  isMovedOnRefusal,
  isStepRefusal,
  readRefusal,
} from "./refusals.js";

export { MOVED_ON, NEEDS_TOKEN, describe, isMovedOnRefusal };
export const OFFLINE = "Not connected to the server, so nothing was sent. Try again in a moment.";

const COMPLETED = Object.freeze({ status: "completed" });

// Show text in a message element; tone is "info", "ok" or "error". A detail,
// e.g. the server's own words, goes in the element's title (a tooltip).
export function say(element, text, tone = "info", detail = "") {
  element.textContent = text;
  element.className = `message message-${tone}`;
  if (detail) {
    element.title = detail;
  } else {
    element.removeAttribute("title");
  }
}

// When the server refuses the plugin's step (a ProtocolError), say why in
// message, in words for a person, and call onRefused(payload), e.g. to enable
// the buttons again. The shell's notice stays quiet about these: each refusal
// shows in one place. A refusal because the run moved on is no error: the
// shell is about to show the run's current step instead. Any other refusal
// (a malformed message, say) is the shell's notice to show; message is
// cleared then, so it no longer says "Moving on…".
export function showRefusals(appManager, plugin, message, onRefused = () => {}) {
  appManager.subscribe(plugin, "ProtocolError", (payload) => {
    const refusal = readRefusal(payload);
    if (isStepRefusal(refusal)) {
      const tone = refusal.kind === "moved-on" ? "info" : "error";
      say(message, refusal.text, tone, refusal.detail);
    } else {
      say(message, "");
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
