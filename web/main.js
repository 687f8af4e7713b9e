// Wires the shell together: connection, appManager, progress and router.

import { createAppManager, readAccessToken } from "./app-manager.js";
import { Connection, buildSocketUrl, createClientName } from "./connection.js";
import { Notice } from "./notice.js";
import { Progress } from "./progress.js";
import { Router } from "./router.js";
import { describe, isMovedOnRefusal } from "./step-kit.js";
import { showConnectionStatus } from "./views.js";

function showProtocolErrors(appManager, router, notice) {
  appManager.subscribe("web-shell", "ProtocolError", (payload) => {
    if (isMovedOnRefusal(payload)) {
      // Another tab or client was first: no error, just show where the run is.
      router.sync();
    } else {
      notice.show(`The server refused a message: ${describe(payload)}`);
    }
  });
  router.addEventListener("step", () => notice.clear());
}

function startShell() {
  const token = readAccessToken();
  const connection = new Connection(buildSocketUrl(token), createClientName("web-shell"));
  const appManager = createAppManager(connection, token);
  const progress = new Progress({
    label: document.getElementById("progress-label"),
    bar: document.getElementById("progress-bar"),
    list: document.getElementById("progress-steps"),
  });
  const container = document.getElementById("step-container");
  const router = new Router({ container, progress, appManager, connection });

  document.getElementById("inspect-link").search = location.search;
  showConnectionStatus(connection, document.getElementById("connection-status"));
  showProtocolErrors(appManager, router, new Notice(document.getElementById("shell-notice")));
  connection.connect();
  router.start();
  // Handy from the browser console and for browser tests.
  window.appManager = appManager;
}

startShell();
