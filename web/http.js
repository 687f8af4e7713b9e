// Small helpers for the JSON REST API; errors carry the server's `detail`.

import { NEEDS_TOKEN } from "./refusals.js";

export async function describeFailure(response) {
  if (response.status === 401) {
    return NEEDS_TOKEN;
  }
  try {
    const body = await response.json();
    if (body && typeof body.detail === "string") {
      return `${response.status}: ${body.detail}`;
    }
  } catch {
    // Not JSON: fall back to the status line.
  }
  return `${response.status} ${response.statusText}`.trim();
}

// An answer other than 2xx; `reason` is the status and the server's detail alone.
export class HttpError extends Error {
  constructor(request, status, reason) {
    super(`${request} failed with ${reason}`);
    this.status = status;
    this.reason = reason;
  }
}

async function request(fetchFn, url, init = {}) {
  const response = await fetchFn(url, init);
  if (!response.ok) {
    const reason = await describeFailure(response);
    throw new HttpError(`${init.method ?? "GET"} ${url}`, response.status, reason);
  }
  return response;
}

export async function getJson(fetchFn, url) {
  return (await request(fetchFn, url)).json();
}

export async function getText(fetchFn, url) {
  return (await request(fetchFn, url)).text();
}

// POST without a body, for commands such as a run's retry; resolves to the response.
export function post(fetchFn, url) {
  return request(fetchFn, url, { method: "POST" });
}
