// What a ProtocolError says, read for the person in front of the page. The
// server writes refusals for developers; this sorts them and puts the ones a
// person can act on in plain words, keeping the server's text as the detail.
//
// Kinds:
//   "step"     a step's plugin refused its completion, e.g. the terms are not
//              accepted: "<Topic>: <state> refuses '<status>': <reason>";
//   "moved-on" the run is already past the step (another tab was first);
//   "storage"  the server could not take it because its storage is away;
//   "token"    the server needs its access token and this page has none;
//   "other"    anything else, e.g. a malformed message: a fault of the page.

export const MOVED_ON = "This step was already done elsewhere (another tab?). Following along…";
export const NEEDS_TOKEN =
  "This page can only watch: open it with the access token in its address (?token=…) to act.";
export const STORAGE_AWAY =
  "Nothing was saved: the server cannot reach its storage right now. Try again once it is back.";

// Kinds of refusal that answer what the person did on the step's page.
const STEP_KINDS = new Set(["step", "moved-on", "storage", "token"]);
const STEP_REFUSAL = /^[^:\s]+: \S+ refuses '[^']*': (.+)$/s;
const MOVED_ON_REFUSAL = /is in state|is finished/;
const STORAGE_REFUSAL = /the backend is unavailable/;
const TOKEN_REFUSAL = /needs its access token/;

// A payload as readable text: strings as they are, anything else as JSON.
export function describe(payload) {
  return typeof payload === "string" ? payload : JSON.stringify(payload);
}

// A refusal that only says the run has moved on, e.g. another tab completed
// the step first. No error: the shell follows the run to its current step.
export function isMovedOnRefusal(payload) {
  return MOVED_ON_REFUSAL.test(describe(payload));
}

// A plugin's reason reads "<what the person should do>[: <hint for developers>]":
// the first part, as a sentence.
function asSentence(reason) {
  const words = reason.split(": ")[0].trim();
  const sentence = words.charAt(0).toUpperCase() + words.slice(1);
  return /[.!?…]$/.test(sentence) ? sentence : `${sentence}.`;
}

// { kind, text, detail }: text is for the person, detail the server's own words.
export function readRefusal(payload) {
  const detail = describe(payload);
  const refusedByStep = STEP_REFUSAL.exec(detail);
  if (refusedByStep) {
    return { kind: "step", text: asSentence(refusedByStep[1]), detail };
  }
  if (MOVED_ON_REFUSAL.test(detail)) {
    return { kind: "moved-on", text: MOVED_ON, detail };
  }
  if (STORAGE_REFUSAL.test(detail)) {
    return { kind: "storage", text: STORAGE_AWAY, detail };
  }
  if (TOKEN_REFUSAL.test(detail)) {
    return { kind: "token", text: NEEDS_TOKEN, detail };
  }
  return { kind: "other", text: `The server refused a message: ${detail}`, detail };
}

// Whether the step's page shows this refusal next to its buttons (when it
// listens for refusals at all); the shell's notice shows every other one.
export function isStepRefusal(refusal) {
  return STEP_KINDS.has(refusal.kind);
}
