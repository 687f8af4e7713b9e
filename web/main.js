// Wires the shell together: connection, appManager, progress and router.

import { createAppManager, readAccessToken } from "./app-manager.js";
import { Connection, buildSocketUrl, createClientName } from "./connection.js";
import { Notice } from "./notice.js";
import { Progress } from "./progress.js";
import { isStepRefusal, readRefusal } from "./refusals.js";
import { Router } from "./router.js";
import { ServerStorage } from "./storage.js";
import { showConnectionStatus } from "./views.js";

const SHELL_NAME = "web-shell";
const REFUSALS = "ProtocolError";

// Each refusal shows in one place: a step's own refusal by the buttons of its
// page, when the page listens for refusals (step-kit's showRefusals does);
// any other in the shell's notice.
function showProtocolErrors(appManager, router, notice) {
  appManager.subscribe(SHELL_NAME, REFUSALS, (payload) => {
    const refusal = readRefusal(payload);
    const page = router.activeStep;
    if (refusal.kind === "moved-on") {
      // Another tab or client was first: no error, just show where the run is.
      router.sync();
    } else if (!isStepRefusal(refusal) || !appManager.isSubscribed(page, REFUSALS)) {
      notice.show(refusal.text, refusal.detail);
    }
  });
  router.addEventListener("step", () => notice.clear());
}

function startShell() {
  const token = readAccessToken();
  const connection = new Connection(buildSocketUrl(token), createClientName(SHELL_NAME));
  const appManager = createAppManager(connection, token);
  const storage = new ServerStorage();
  const progress = new Progress({
    label: document.getElementById("progress-label"),
    bar: document.getElementById("progress-bar"),
    list: document.getElementById("progress-steps"),
  });
  const container = document.getElementById("step-container");
  const router = new Router({ container, progress, appManager, connection, storage });

  document.getElementById("inspect-link").search = location.search;
  showConnectionStatus(connection, document.getElementById("connection-status"), storage);
  // First of the shell's topics, so that a reconnect asks for it first.
  storage.follow(appManager, SHELL_NAME, () => router.resync());
  showProtocolErrors(appManager, router, new Notice(document.getElementById("shell-notice")));
  connection.connect();
  router.start();
  // Handy from the browser console and for browser tests.
  window.appManager = appManager;
}

startShell();
