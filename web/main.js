// Wires the shell together: connection, appManager, progress and router.

import { createAppManager, readAccessToken } from "./app-manager.js";
import { Connection, buildSocketUrl, createClientName } from "./connection.js";
import { Progress } from "./progress.js";
import { Router } from "./router.js";
import { showConnectionStatus } from "./views.js";

const NOTICE_MS = 8000;

function showProtocolErrors(appManager, element) {
  let timer = null;
  appManager.subscribe("web-shell", "ProtocolError", (payload) => {
    const text = typeof payload === "string" ? payload : JSON.stringify(payload);
    element.textContent = `The server refused a message: ${text}`;
    element.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(() => {
      element.hidden = true;
    }, NOTICE_MS);
  });
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
  showProtocolErrors(appManager, document.getElementById("shell-notice"));
  connection.connect();
  router.start();
  // Handy from the browser console and for browser tests.
  window.appManager = appManager;
}

startShell();
