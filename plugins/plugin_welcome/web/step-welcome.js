import { completeOnClick, showRefusals } from "/shell/step-kit.js";

const PLUGIN = "plugin_welcome";

export function activate(container, appManager) {
  const start = container.querySelector("#welcome-start");
  const message = container.querySelector("#welcome-message");

  appManager.registerPlugin(PLUGIN);
  showRefusals(appManager, PLUGIN, message, () => {
    start.disabled = false;
  });
  completeOnClick(appManager, {
    plugin: PLUGIN,
    topic: "WelcomeCompleted",
    button: start,
    message,
    busyText: "Starting…",
  });
  return () => appManager.unregisterPlugin(PLUGIN);
}
