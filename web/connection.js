// The WebSocket link to /ws: frames, reconnection with backoff, and the set of
// topics to restore after a reconnect. Plugins never see this object; they use
// the appManager built on top of it.

const FIRST_DELAY_MS = 500;
const CLOSE_POLICY = 1008;
const MAX_DELAY_MS = 15000;

export function buildSocketUrl(token) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  return `${scheme}//${location.host}/ws${query}`;
}

// A distinct name per tab makes server logs readable.
export function createClientName(prefix) {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

export function parsePayload(payload) {
  if (typeof payload !== "string") {
    return payload;
  }
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}

// Events: "status" (detail: "connecting" | "open" | "closed" | "refused"), "open" after
// every successful connect, and "message" (detail: the envelope object).
export class Connection extends EventTarget {
  constructor(url, clientName) {
    super();
    this.url = url;
    this.clientName = clientName;
    this.topics = new Set();
    this.socket = null;
    this.delay = FIRST_DELAY_MS;
    this.retryTimer = null;
    this.status = "closed";
  }

  get isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  connect() {
    clearTimeout(this.retryTimer);
    this.setStatus("connecting");
    const socket = new WebSocket(this.url);
    socket.addEventListener("open", () => this.handleOpen());
    socket.addEventListener("message", (event) => this.handleFrame(event.data));
    socket.addEventListener("close", (event) => this.handleClose(socket, event.code));
    this.socket = socket;
  }

  subscribe(topic) {
    this.topics.add(topic);
    this.send(`subscribe:${topic}`);
  }

  unsubscribe(topic) {
    this.topics.delete(topic);
    this.send(`unsubscribe:${topic}`);
  }

  publish(publisherName, topic, payload) {
    const envelope = {
      publisher_name: publisherName,
      topic,
      payload,
      timestamp: new Date().toISOString(),
    };
    return this.send(`publish-json:${JSON.stringify(envelope)}`);
  }

  send(frame) {
    if (!this.isOpen) {
      return false;
    }
    try {
      this.socket.send(frame);
      return true;
    } catch (error) {
      console.warn("[connection] send failed:", error);
      return false;
    }
  }

  handleOpen() {
    this.delay = FIRST_DELAY_MS;
    this.send(`register-name:${this.clientName}`);
    for (const topic of this.topics) {
      this.send(`subscribe:${topic}`);
    }
    this.setStatus("open");
    this.dispatchEvent(new Event("open"));
  }

  handleFrame(data) {
    let envelope;
    try {
      envelope = JSON.parse(data);
    } catch {
      console.warn("[connection] ignored a frame that is not JSON:", data);
      return;
    }
    if (envelope && typeof envelope.topic === "string") {
      this.dispatchEvent(new CustomEvent("message", { detail: envelope }));
    }
  }

  handleClose(socket, code) {
    if (socket !== this.socket) {
      return;
    }
    this.socket = null;
    if (code === CLOSE_POLICY) {
      // the server refused us (token or origin): trying again cannot help
      this.setStatus("refused");
      return;
    }
    this.setStatus("closed");
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    // Jitter keeps many tabs from reconnecting in lockstep after a restart.
    const wait = this.delay * (0.75 + Math.random() / 2);
    this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
    this.retryTimer = setTimeout(() => this.connect(), wait);
  }

  setStatus(status) {
    this.status = status;
    this.dispatchEvent(new CustomEvent("status", { detail: status }));
  }
}
