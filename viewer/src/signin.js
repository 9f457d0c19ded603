// Signing in with the identity provider, in the browser: the authorization code flow
// with PKCE (S256), its state and the ID token's nonce checked (docs/adr/0012-viewer.md).
// The settings come from the page (data-signin, written by the server from the provider's
// discovery document); the only other origin the page talks to is the provider's token
// endpoint, and the only navigation away is to its authorization endpoint.
//
// The tokens live in this tab's sessionStorage (a reload keeps the person signed in, a
// new tab asks again). The access token is refreshed before it expires when the provider
// gave a refresh token; otherwise, or when a refresh or a request is refused, the viewer
// signs out and reloads as the public sees it.

const PENDING = 'onemap.signin.pending'; // state, nonce, verifier, where to come back to
const SESSION = 'onemap.signin.session';
const NOTICE = 'onemap.signin.notice'; // a message for the page after a reload
const EARLY_MS = 30_000; // refresh this long before the access token expires
const RESPONSE_PARAMS = ['code', 'state', 'session_state', 'iss', 'error', 'error_description'];

export class SignInError extends Error {
  constructor(reason, detail = '') {
    super(detail ? `${reason}: ${detail}` : reason);
    this.reason = reason; // an i18n key
    this.detail = String(detail);
  }
}

// The page's sign-in settings, or null when the server offers none.
export function signInConfig(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

// Whether this browser can do PKCE: SHA-256 (crypto.subtle) exists only on secure pages
// (https, or this machine) — and tokens must not travel over plain http anyway.
export function canSignIn() {
  return Boolean(window.isSecureContext && window.crypto?.subtle);
}

// The session of this tab: finishes a sign-in the provider has just sent back, else
// restores a kept one. A refused answer is the ``problem`` (the page is then anonymous).
export async function openSession(config, { onEnd }) {
  const session = new Session(config, onEnd);
  let problem = null;
  const answer = new URLSearchParams(window.location.search);
  if (config && RESPONSE_PARAMS.some((name) => answer.has(name))) {
    try {
      await session.complete(answer);
    } catch (error) {
      if (!(error instanceof SignInError)) throw error;
      problem = error;
    }
  } else if (config) {
    session.restore();
  }
  return { session, problem };
}

class Session {
  constructor(config, onEnd) {
    Object.assign(this, { config, onEnd, kept: null, timer: null, ending: false });
  }

  enabled() {
    return Boolean(this.config);
  }

  token() {
    return this.kept?.accessToken || null;
  }

  user() {
    return this.kept?.name || null;
  }

  // To the provider's authorization endpoint; it sends the person back to this page.
  async signIn() {
    const verifier = randomText(32);
    const pending = {
      state: randomText(16),
      nonce: randomText(16),
      verifier,
      returnTo: `${window.location.pathname}${window.location.search}${window.location.hash}`,
    };
    sessionStorage.setItem(PENDING, JSON.stringify(pending));
    const target = new URL(this.config.authorizationEndpoint);
    const params = {
      response_type: 'code',
      client_id: this.config.clientId,
      redirect_uri: this.config.redirectUri,
      scope: this.config.scope,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await challengeOf(verifier),
      code_challenge_method: 'S256',
    };
    for (const [name, value] of Object.entries(params)) target.searchParams.set(name, value);
    window.location.assign(target.toString());
  }

  // Sign out (the button, an expiry, a refused token): forget the tokens, then the page
  // reloads so that the catalog and every layer are the public's again.
  end(notice) {
    if (this.ending) return;
    this.ending = true;
    clearTimeout(this.timer);
    sessionStorage.removeItem(SESSION);
    if (notice) sessionStorage.setItem(NOTICE, notice);
    this.kept = null;
    this.onEnd();
  }

  // A request with the token was answered 401: the server no longer accepts it.
  rejected() {
    if (this.token()) this.end('signinExpired');
  }

  async complete(answer) {
    const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
    sessionStorage.removeItem(PENDING); // one answer per request, whatever it says
    window.history.replaceState(null, '', pending?.returnTo || withoutAnswer(window.location));
    if (!pending || answer.get('state') !== pending.state) throw new SignInError('signinState');
    if (answer.has('error')) {
      throw new SignInError('signinFailed', answer.get('error_description') || answer.get('error'));
    }
    if (answer.has('iss') && answer.get('iss') !== this.config.issuer) {
      throw new SignInError('signinFailed', 'iss');
    }
    const tokens = await this.tokenRequest({
      grant_type: 'authorization_code',
      code: answer.get('code') || '',
      redirect_uri: this.config.redirectUri,
      code_verifier: pending.verifier,
    });
    const claims = idClaims(tokens.id_token, this.config);
    if (claims.nonce !== pending.nonce) throw new SignInError('signinFailed', 'nonce');
    this.keep(tokens, nameOf(claims));
  }

  restore() {
    const kept = JSON.parse(sessionStorage.getItem(SESSION) || 'null');
    if (!kept) return;
    if (kept.expiresAt <= Date.now() && !kept.refreshToken) {
      sessionStorage.removeItem(SESSION);
      sessionStorage.setItem(NOTICE, 'signinExpired');
      return;
    }
    this.kept = kept;
    this.schedule();
  }

  keep(tokens, name) {
    if (!tokens.access_token) throw new SignInError('signinFailed', 'access_token');
    const lifetime = Number(tokens.expires_in) > 0 ? Number(tokens.expires_in) * 1000 : 300_000;
    this.kept = {
      accessToken: tokens.access_token,
      refreshToken: tokens.refresh_token || this.kept?.refreshToken || null,
      expiresAt: Date.now() + lifetime, // by this browser's clock, not the token's exp
      name,
    };
    sessionStorage.setItem(SESSION, JSON.stringify(this.kept));
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    const due = this.kept.expiresAt - (this.kept.refreshToken ? EARLY_MS : 0) - Date.now();
    this.timer = setTimeout(() => this.refreshOrEnd(), Math.max(0, due));
  }

  async refreshOrEnd() {
    if (!this.kept?.refreshToken) {
      this.end('signinExpired');
      return;
    }
    try {
      const tokens = await this.tokenRequest({
        grant_type: 'refresh_token',
        refresh_token: this.kept.refreshToken,
      });
      const name = tokens.id_token ? nameOf(idClaims(tokens.id_token, this.config)) : this.kept.name;
      this.keep(tokens, name);
    } catch {
      this.end('signinExpired');
    }
  }

  // A public client at the token endpoint: no secret, no cookies; the provider answers
  // this page's origin with CORS.
  async tokenRequest(fields) {
    const body = new URLSearchParams({ ...fields, client_id: this.config.clientId });
    let response;
    try {
      response = await fetch(this.config.tokenEndpoint, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body,
        credentials: 'omit',
      });
    } catch (error) {
      throw new SignInError('signinFailed', error.message);
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new SignInError('signinFailed', answer.error_description || answer.error || response.status);
    }
    return answer;
  }
}

// A notice the page left before it reloaded (signed out, expired), read once.
export function takeNotice() {
  const notice = sessionStorage.getItem(NOTICE);
  sessionStorage.removeItem(NOTICE);
  return notice;
}

// The ID token's claims, checked for this provider and this client. Its signature is
// not checked here: it came straight from the token endpoint (OIDC Core 3.1.3.7), and
// the server verifies the access token on every request.
function idClaims(idToken, config) {
  let claims;
  try {
    const part = idToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(part), (c) => c.charCodeAt(0));
    claims = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new SignInError('signinFailed', 'id_token');
  }
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (claims.iss !== config.issuer || !audience.includes(config.clientId)) {
    throw new SignInError('signinFailed', 'id_token');
  }
  return claims;
}

function nameOf(claims) {
  return claims.name || claims.preferred_username || claims.sub || '';
}

function withoutAnswer(location) {
  const url = new URL(location.href);
  for (const name of RESPONSE_PARAMS) url.searchParams.delete(name);
  return `${url.pathname}${url.search}${url.hash}`;
}

function randomText(bytes) {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
