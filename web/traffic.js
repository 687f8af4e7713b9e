// The inspector's live view of topic traffic: what is subscribed, and every
// message received, newest first, as plain text.

const MAX_ROWS = 200;
const TOPIC_PATTERN = /^[A-Za-z0-9_.:/-]{1,128}$/;

export function isValidTopic(topic) {
  return TOPIC_PATTERN.test(topic);
}

function cell(text, tag = "td") {
  const node = document.createElement(tag);
  node.textContent = text;
  return node;
}

function payloadCell(payload) {
  const node = document.createElement("td");
  const pre = document.createElement("pre");
  pre.textContent = typeof payload === "string" ? payload : JSON.stringify(payload);
  node.append(pre);
  return node;
}

export class TrafficLog {
  constructor({ rows, topicList, appManager, name }) {
    this.rows = rows;
    this.topicList = topicList;
    this.appManager = appManager;
    this.name = name;
    this.topics = new Set();
  }

  add(topic) {
    if (!isValidTopic(topic) || this.topics.has(topic)) {
      return false;
    }
    this.topics.add(topic);
    this.appManager.subscribe(this.name, topic, (_, envelope) => this.record(envelope));
    this.renderTopics();
    return true;
  }

  remove(topic) {
    this.topics.delete(topic);
    this.appManager.unsubscribe(this.name, topic);
    this.renderTopics();
  }

  clear() {
    this.rows.replaceChildren();
  }

  record(envelope) {
    const row = document.createElement("tr");
    row.dataset.topic = envelope.topic;
    row.append(
      cell(new Date().toLocaleTimeString()),
      cell(envelope.topic),
      cell(envelope.publisher_name ?? ""),
      payloadCell(envelope.payload),
    );
    this.rows.prepend(row);
    while (this.rows.children.length > MAX_ROWS) {
      this.rows.lastElementChild.remove();
    }
  }

  renderTopics() {
    this.topicList.replaceChildren(...[...this.topics].map((topic) => this.renderTopic(topic)));
  }

  renderTopic(topic) {
    const item = cell(topic, "li");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `Unsubscribe from ${topic}`);
    remove.addEventListener("click", () => this.remove(topic));
    item.append(remove);
    return item;
  }
}
