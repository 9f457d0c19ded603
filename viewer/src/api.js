// Every request the viewer makes goes to the server that served it, with the page's key
// and, once someone has signed in, their access token. A Tianditu-style key in the page's
// own URL (?tk=) is added to each one, so a viewer embedded with a key sees what that key
// may see and counts against its quotas; a bearer token (signin.js) wins over the key.
import TileState from 'ol/TileState';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function makeApi(base, key, session = null) {
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

  const headers = (accept) => {
    const token = session?.token();
    return token ? { Accept: accept, Authorization: `Bearer ${token}` } : { Accept: accept };
  };

  // A 401 to a request that carried the token: the session is over (signin.js).
  const checked = (response) => {
    if (response.status === 401 && session?.token()) session.rejected();
    return response;
  };

  const json = async (pathOrUrl, params, options = {}) => {
    const response = checked(
      await fetch(url(pathOrUrl, params), { headers: headers('application/json'), signal: options.signal }),
    );
    if (!response.ok) throw new ApiError(response.status, await problemOf(response));
    return response.json();
  };

  // OpenLayers' tileLoadFunction for map tiles. An <img> cannot send a header, so a
  // signed-in viewer fetches the tile and shows it from a blob: URL; without a token the
  // image loads it itself, as before.
  const loadTile = (tile, src) => {
    const image = tile.getImage();
    if (!session?.token()) {
      image.src = src;
      return;
    }
    fetch(src, { headers: headers('image/png') })
      .then(checked)
      .then((response) => {
        if (!response.ok) throw new ApiError(response.status, `HTTP ${response.status}`);
        return response.blob();
      })
      .then((blob) => {
        const local = URL.createObjectURL(blob);
        const release = () => URL.revokeObjectURL(local);
        image.addEventListener('load', release, { once: true });
        image.addEventListener('error', release, { once: true });
        image.src = local;
      })
      .catch(() => tile.setState(TileState.ERROR));
  };

  return { url, json, loadTile, key };
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
