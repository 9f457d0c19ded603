// Every request the viewer makes goes to the server that served it, with the page's key.
// A Tianditu-style key in the page's own URL (?tk=) is added to each one, so a viewer
// embedded with a key sees what that key may see and counts against its quotas.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function makeApi(base, key) {
  const url = (pathOrUrl, params = {}) => {
    const target = new URL(pathOrUrl.startsWith('http') ? pathOrUrl : base + pathOrUrl);
    for (const [name, value] of Object.entries(params)) {
      if (value !== undefined && value !== null && value !== '') {
        target.searchParams.set(name, String(value));
      }
    }
    if (key && !target.searchParams.has('tk')) target.searchParams.set('tk', key);
    return target.toString();
  };

  const json = async (pathOrUrl, params, options = {}) => {
    const response = await fetch(url(pathOrUrl, params), {
      headers: { Accept: 'application/json' },
      signal: options.signal,
    });
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    return response.json();
  };

  // A JSON body sent (POST, DELETE): the response as it came, unless it is an error.
  const send = async (method, pathOrUrl, body, headers = {}) => {
    const response = await fetch(url(pathOrUrl), {
      method,
      headers: { Accept: 'application/json', 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    return response;
  };

  return { url, json, send, key };
}

// OneMap's errors are problem documents with a description a person can act on.
async function problemOf(response) {
  try {
    const body = await response.json();
    return body.description || body.detail || `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}
