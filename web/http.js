// Small helpers for the JSON REST API; errors carry the server's `detail`.

export async function describeFailure(response) {
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

async function request(fetchFn, url) {
  const response = await fetchFn(url);
  if (!response.ok) {
    throw new Error(`GET ${url} failed with ${await describeFailure(response)}`);
  }
  return response;
}

export async function getJson(fetchFn, url) {
  return (await request(fetchFn, url)).json();
}

export async function getText(fetchFn, url) {
  return (await request(fetchFn, url)).text();
}
