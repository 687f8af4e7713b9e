import { NEEDS_TOKEN, completeOnClick, say, showRefusals } from "/shell/step-kit.js";

const PLUGIN = "plugin_provisioning";
const DEVICES = "/api/provision/device";
const MAX_EVENTS = 20;
// The device this tab registered for the default run, so that a reload shows
// it again instead of asking for a second one.
const REMEMBERED = "plugin_provisioning:device:default";
const NAME_MISSING = "Enter a name for the device (spaces alone are not a name).";
const DEVICE_GONE = "The device you registered is gone from the records; register it again.";

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function describeFailure(response) {
  if (response.status === 401) {
    return NEEDS_TOKEN;
  }
  try {
    const body = await response.json();
    const extra = Array.isArray(body.extra) ? body.extra.map((item) => item.message) : [];
    const text = [body.detail, ...extra].filter(Boolean).join(": ");
    return text || `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

async function requestJson(appManager, url, init = {}) {
  const response = await appManager.fetch(url, init);
  if (!response.ok) {
    throw new HttpError(response.status, await describeFailure(response));
  }
  return response.json();
}

function createDevice(appManager, fields) {
  const init = {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(fields),
  };
  return requestJson(appManager, DEVICES, init);
}

function fetchDevice(appManager, id) {
  return requestJson(appManager, `${DEVICES}/${encodeURIComponent(id)}`);
}

// localStorage may be unavailable (privacy settings): then nothing is remembered.
// It outlives the tab, so a person who closes the page and comes back finds the device.
function recallDeviceId() {
  try {
    return localStorage.getItem(REMEMBERED);
  } catch {
    return null;
  }
}

function rememberDeviceId(id) {
  try {
    if (id === null) {
      localStorage.removeItem(REMEMBERED);
    } else {
      localStorage.setItem(REMEMBERED, id);
    }
  } catch {
    // Not remembered: a reload asks for the device again.
  }
}

function findElements(container) {
  const byId = (id) => container.querySelector(`#${id}`);
  return {
    form: byId("device-form"),
    name: byId("device-name"),
    managed: byId("device-managed"),
    register: byId("device-register"),
    none: byId("device-none"),
    record: byId("device-record"),
    recordId: byId("device-record-id"),
    recordName: byId("device-record-name"),
    recordManaged: byId("device-record-managed"),
    events: byId("device-events"),
    message: byId("device-message"),
    proceed: byId("device-continue"),
    skip: byId("device-skip"),
  };
}

function showRecord(view, record) {
  view.none.hidden = record !== null;
  view.record.hidden = record === null;
  view.recordId.textContent = record?.id ?? "";
  view.recordName.textContent = record?.field1 ?? "";
  view.recordManaged.textContent = record?.field2 ? "yes" : "no";
}

function addEvent(view, event) {
  const item = document.createElement("li");
  const name = event?.record ? ` "${event.record.field1}"` : "";
  const time = new Date().toLocaleTimeString();
  item.textContent = `${time}: device ${event?.id}${name} ${event?.status}`;
  view.events.prepend(item);
  while (view.events.children.length > MAX_EVENTS) {
    view.events.lastElementChild.remove();
  }
}

function completeOnButtons(appManager, view, deviceId) {
  const step = {
    plugin: PLUGIN,
    topic: "DeviceCompleted",
    message: view.message,
    disable: [view.proceed, view.skip],
  };
  completeOnClick(appManager, {
    ...step,
    button: view.proceed,
    payload: () => ({ status: "completed", data: { device_id: deviceId() } }),
    busyText: "Device set up. Moving on…",
  });
  completeOnClick(appManager, {
    ...step,
    button: view.skip,
    payload: { status: "skipped" },
    busyText: "Skipped. Moving on…",
  });
}

// The page's one device: shown, remembered across reloads, and what Continue sends.
class DeviceStep {
  constructor(appManager, view) {
    this.appManager = appManager;
    this.view = view;
    this.deviceId = null;
  }

  setDevice(record) {
    this.deviceId = record?.id ?? null;
    rememberDeviceId(this.deviceId);
    showRecord(this.view, record);
    this.view.proceed.disabled = this.deviceId === null;
  }

  async restore(id) {
    const { view } = this;
    // Registering meanwhile would race the lookup for what the page shows.
    view.register.disabled = true;
    say(view.message, "Looking up the device you registered…");
    try {
      this.setDevice(await fetchDevice(this.appManager, id));
      say(view.message, "Your device is registered. Continue when you are ready.", "ok");
    } catch (error) {
      this.showLookupFailure(error);
    } finally {
      view.register.disabled = false;
    }
  }

  showLookupFailure(error) {
    if (error.status === 404) {
      this.setDevice(null);
      say(this.view.message, DEVICE_GONE);
    } else {
      say(this.view.message, `Could not look up your device: ${error.message}`, "error");
    }
  }

  async register() {
    const { view } = this;
    const fields = { field1: view.name.value.trim(), field2: view.managed.checked };
    if (fields.field1 === "") {
      say(view.message, NAME_MISSING, "error");
      view.name.focus();
      return;
    }
    view.register.disabled = true;
    say(view.message, "Registering…");
    try {
      const created = await createDevice(this.appManager, fields);
      this.setDevice(await fetchDevice(this.appManager, created.id));
      say(view.message, "Device registered.", "ok");
    } catch (error) {
      say(view.message, `Could not register the device: ${error.message}`, "error");
    } finally {
      view.register.disabled = false;
    }
  }

  handleUpdated(update) {
    addEvent(this.view, update);
    if (update?.id === this.deviceId) {
      this.setDevice(update.status === "deleted" ? null : update.record);
    }
  }

  handleRefused() {
    this.view.proceed.disabled = this.deviceId === null;
    this.view.skip.disabled = false;
  }
}

export function activate(container, appManager) {
  const view = findElements(container);
  const step = new DeviceStep(appManager, view);
  const remembered = recallDeviceId();

  appManager.registerPlugin(PLUGIN);
  appManager.subscribe(PLUGIN, "DeviceUpdated", (update) => step.handleUpdated(update));
  showRefusals(appManager, PLUGIN, view.message, () => step.handleRefused());
  view.form.addEventListener("submit", (event) => {
    event.preventDefault();
    step.register();
  });
  completeOnButtons(appManager, view, () => step.deviceId);
  if (remembered !== null) {
    step.restore(remembered);
  }
  return () => appManager.unregisterPlugin(PLUGIN);
}
