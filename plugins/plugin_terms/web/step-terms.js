import { completeOnClick, showRefusals } from "/shell/step-kit.js";

const PLUGIN = "plugin_terms";

export function activate(container, appManager) {
  const accept = container.querySelector("#terms-accept");
  const proceed = container.querySelector("#terms-continue");
  const message = container.querySelector("#terms-message");
  const allowProceeding = () => {
    proceed.disabled = !accept.checked;
  };

  appManager.registerPlugin(PLUGIN);
  showRefusals(appManager, PLUGIN, message, allowProceeding);
  accept.addEventListener("change", allowProceeding);
  completeOnClick(appManager, {
    plugin: PLUGIN,
    topic: "TermsCompleted",
    button: proceed,
    message,
    payload: () => ({ status: "completed", data: { accepted: accept.checked } }),
    busyText: "Thank you. Moving on…",
  });
  return () => appManager.unregisterPlugin(PLUGIN);
}
