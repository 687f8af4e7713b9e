// What the shell knows of the server's storage (its backend, e.g. Redis).
// The server tells its BackendStatus subscribers when it loses the storage
// and when it has it back; a REST answer of 503 says the same to a page
// loaded meanwhile, which heard no BackendStatus. Dispatches "change"
// (detail: { status, detail }) whenever the status changes.

export const AVAILABLE = "available";
export const UNAVAILABLE = "unavailable";
const TOPIC = "BackendStatus";
const STATUSES = new Set([AVAILABLE, UNAVAILABLE]);

// A REST failure (HttpError) that says the server cannot reach its storage.
export function isStorageAway(error) {
  return error?.status === 503;
}

export class ServerStorage extends EventTarget {
  constructor() {
    super();
    this.status = AVAILABLE;
    this.detail = "";
  }

  get isAvailable() {
    return this.status === AVAILABLE;
  }

  // detail: the server's own words on the outage, for whoever wants them.
  set(status, detail = "") {
    if (status === this.status && detail === this.detail) {
      return;
    }
    this.status = status;
    this.detail = status === AVAILABLE ? "" : detail;
    this.dispatchEvent(new CustomEvent("change", { detail: { status, detail: this.detail } }));
  }

  // Follow BackendStatus as the plugin `name`; onBack() runs each time the
  // server says its storage is back, e.g. to load the run's state again.
  follow(appManager, name, onBack = () => {}) {
    appManager.subscribe(name, TOPIC, (payload) => {
      if (!STATUSES.has(payload?.status)) {
        console.warn("[storage] ignored BackendStatus payload:", payload);
        return;
      }
      this.set(payload.status, String(payload.detail ?? ""));
      if (payload.status === AVAILABLE) {
        onBack();
      }
    });
  }
}
