// A small fetch wrapper for Loket's JSON API (/api/v1) and the citizen token.
//
// Every failure becomes an ApiError carrying the server's snake_case `error` code and
// `fields`, so pages translate problems by code instead of showing server English.

export const API = '/api/v1';

export class ApiError extends Error {
  constructor(status, body, headers) {
    super(body?.message || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = body?.error || (status === 0 ? 'network' : `http_${status}`);
    this.fields = body?.fields || {};
    this.body = body || {};
    const retry = headers?.get?.('Retry-After');
    this.retryAfter = retry && /^\d+$/.test(retry) ? Number(retry) : null;
  }
}

/**
 * Calls the API. `body` is sent as JSON (a File or Blob as it is, with the caller's
 * Content-Type); `token` adds a citizen Bearer header; staff
 * pages rely on the session cookie (same-origin credentials). Resolves to the parsed
 * JSON (or null for an empty body), rejects with ApiError.
 */
export async function api(path, { method = 'GET', body, token, headers = {}, signal } = {}) {
  const h = { Accept: 'application/json', ...headers };
  const raw = body instanceof Blob;
  if (body !== undefined && !raw) h['Content-Type'] = 'application/json';
  if (token) h.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(API + path, {
      method,
      headers: h,
      body: body === undefined || raw ? body : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError(0, { error: 'network' });
  }
  const text = res.status === 204 ? '' : await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) throw new ApiError(res.status, data, res.headers);
  return data;
}

/** Fetches a file that needs the Bearer header and hands it to the browser as a download. */
export async function downloadWithToken(path, token, fallbackName) {
  let res;
  try {
    res = await fetch(API + path, {
      headers: { Authorization: `Bearer ${token}`, Accept: 'text/calendar' },
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, { error: 'network' });
  }
  if (!res.ok) {
    let body = null;
    try {
      body = await res.json();
    } catch {
      /* not JSON */
    }
    throw new ApiError(res.status, body, res.headers);
  }
  const blob = await res.blob();
  const disposition = res.headers.get('Content-Disposition') || '';
  const name = /filename="?([^";]+)"?/i.exec(disposition)?.[1] || fallbackName;
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // Give the browser time to start the download before the URL goes away.
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** A random UUID v4; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---------------------------------------------------------------------------
// The citizen token travels in the link's fragment (#t=…), which never reaches a
// server log. We keep it for this tab only and wipe it from the address bar so it
// is not shared by a screenshot or a copied URL.

const TOKEN_KEY = 'loket.citizenToken';

export function takeCitizenToken() {
  const m = /(?:^#|&)t=([^&]+)/.exec(location.hash);
  if (m) {
    const token = decodeURIComponent(m[1]);
    storeCitizenToken(token);
    history.replaceState(history.state, '', location.pathname + location.search);
    return token;
  }
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function storeCitizenToken(token) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    /* the link still works; only reload recovery is lost */
  }
}
