import { completeOnClick, completeOnSubmit, showRefusals } from "/shell/step-kit.js";

const PLUGIN = "plugin_notifications";

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
  const step = { plugin: PLUGIN, topic: "NotificationsCompleted", message, disable: [save, skip] };

  appManager.registerPlugin(PLUGIN);
  showRefusals(appManager, PLUGIN, message, () => {
    save.disabled = false;
    skip.disabled = false;
  });
  completeOnSubmit(appManager, {
    ...step,
    form,
    payload: () => ({ status: "completed", data: readPreferences(form) }),
    busyText: "Preferences saved. Moving on…",
  });
  completeOnClick(appManager, {
    ...step,
    button: skip,
    payload: { status: "skipped" },
    busyText: "Skipped. Moving on…",
  });
  return () => appManager.unregisterPlugin(PLUGIN);
}
