const PLUGIN = "plugin_provisioning";
const DEVICES = "/api/provision/device";
const MAX_EVENTS = 20;
const OFFLINE = "Not connected to the server, so nothing was sent. Try again in a moment.";

function say(element, text, tone = "info") {
  element.textContent = text;
  element.className = `message message-${tone}`;
}

function describe(payload) {
  return typeof payload === "string" ? payload : JSON.stringify(payload);
}

async function describeFailure(response) {
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
    throw new Error(await describeFailure(response));
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

export function activate(container, appManager) {
  const view = findElements(container);
  const state = { deviceId: null };

  function setDevice(record) {
    state.deviceId = record?.id ?? null;
    showRecord(view, record);
    view.proceed.disabled = state.deviceId === null;
  }

  async function register(event) {
    event.preventDefault();
    view.register.disabled = true;
    say(view.message, "Registering…");
    try {
      const fields = { field1: view.name.value.trim(), field2: view.managed.checked };
      const created = await createDevice(appManager, fields);
      setDevice(await fetchDevice(appManager, created.id));
      say(view.message, "Device registered.", "ok");
    } catch (error) {
      say(view.message, `Could not register the device: ${error.message}`, "error");
    } finally {
      view.register.disabled = false;
    }
  }

  function onDeviceUpdated(update) {
    addEvent(view, update);
    if (update?.id !== state.deviceId) {
      return;
    }
    setDevice(update.status === "deleted" ? null : update.record);
  }

  function complete(completion, note) {
    if (appManager.publish(PLUGIN, "DeviceCompleted", completion)) {
      view.proceed.disabled = true;
      view.skip.disabled = true;
      say(view.message, note);
    } else {
      say(view.message, OFFLINE, "error");
    }
  }

  function onRefused(payload) {
    say(view.message, `The server refused the step: ${describe(payload)}`, "error");
    view.proceed.disabled = state.deviceId === null;
    view.skip.disabled = false;
  }

  appManager.registerPlugin(PLUGIN);
  appManager.subscribe(PLUGIN, "DeviceUpdated", onDeviceUpdated);
  appManager.subscribe(PLUGIN, "ProtocolError", onRefused);
  view.form.addEventListener("submit", register);
  view.proceed.addEventListener("click", () => {
    const completion = { status: "completed", data: { device_id: state.deviceId } };
    complete(completion, "Device set up. Moving on…");
  });
  view.skip.addEventListener("click", () => complete({ status: "skipped" }, "Skipped. Moving on…"));
  return () => appManager.unregisterPlugin(PLUGIN);
}
