// The appManager handed to plugin pages: named plugins, topic subscriptions
// shared over one connection, publishing, and fetch with the access token.

import { parsePayload } from "./connection.js";

export function readAccessToken() {
  return new URLSearchParams(location.search).get("token") || null;
}

function callSafely(callback, ...args) {
  try {
    callback(...args);
  } catch (error) {
    console.error("[appManager] a callback failed:", error);
  }
}

function requireTopic(topic) {
  if (typeof topic !== "string" || topic === "") {
    throw new TypeError(`topic must be a non-empty string, got ${String(topic)}`);
  }
}

export function createAppManager(connection, token = null) {
  // plugin name -> (topic -> set of callbacks)
  const plugins = new Map();
  const readyCallbacks = [];

  function hasSubscriber(topic) {
    return [...plugins.values()].some((topics) => topics.has(topic));
  }

  function registerPlugin(name) {
    if (!plugins.has(name)) {
      plugins.set(name, new Map());
    }
  }

  function unregisterPlugin(name) {
    const topics = plugins.get(name);
    for (const topic of topics ? [...topics.keys()] : []) {
      unsubscribe(name, topic);
    }
    plugins.delete(name);
  }

  function subscribe(name, topic, callback) {
    requireTopic(topic);
    if (typeof callback !== "function") {
      throw new TypeError(`callback for ${topic} must be a function`);
    }
    registerPlugin(name);
    const isFirst = !hasSubscriber(topic);
    const topics = plugins.get(name);
    if (!topics.has(topic)) {
      topics.set(topic, new Set());
    }
    topics.get(topic).add(callback);
    if (isFirst) {
      connection.subscribe(topic);
    }
  }

  function unsubscribe(name, topic) {
    const topics = plugins.get(name);
    if (topics && topics.delete(topic) && !hasSubscriber(topic)) {
      connection.unsubscribe(topic);
    }
  }

  // Whether the plugin `name` listens to `topic`, e.g. the shell asking whether
  // the step on screen shows its own refusals.
  function isSubscribed(name, topic) {
    return plugins.get(name)?.has(topic) ?? false;
  }

  function publish(name, topic, payload) {
    requireTopic(topic);
    const text = typeof payload === "string" ? payload : JSON.stringify(payload ?? null);
    return connection.publish(name, topic, text);
  }

  function onReady(callback) {
    if (connection.isOpen) {
      callSafely(callback);
    } else {
      readyCallbacks.push(callback);
    }
  }

  function fetchWithToken(url, init = {}) {
    const headers = new Headers(init.headers);
    if (token && !headers.has("Authorization")) {
      headers.set("Authorization", `Bearer ${token}`);
    }
    return window.fetch(url, { ...init, headers });
  }

  function deliver(envelope) {
    const payload = parsePayload(envelope.payload);
    for (const topics of [...plugins.values()]) {
      for (const callback of [...(topics.get(envelope.topic) ?? [])]) {
        callSafely(callback, payload, envelope);
      }
    }
  }

  connection.addEventListener("message", (event) => deliver(event.detail));
  connection.addEventListener("open", () => {
    for (const callback of readyCallbacks.splice(0)) {
      callSafely(callback);
    }
  });

  return Object.freeze({
    registerPlugin,
    unregisterPlugin,
    subscribe,
    unsubscribe,
    isSubscribed,
    publish,
    onReady,
    fetch: fetchWithToken,
  });
}
