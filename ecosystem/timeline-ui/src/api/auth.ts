// The access token (PROTOCOL.md 6): asked for once per tab, kept in sessionStorage.
const KEY = 'timeline-ui.token';

function storage(): Storage | undefined {
  try {
    return globalThis.sessionStorage;
  } catch {
    return undefined; // storage disabled
  }
}

export function getToken(): string | null {
  return storage()?.getItem(KEY) ?? null;
}

export function setToken(token: string | null): void {
  const s = storage();
  if (!s) return;
  if (token) s.setItem(KEY, token);
  else s.removeItem(KEY);
}

/** `url` with `?token=` added when a token is set (for <img>, <video> and the WebSocket). */
export function withToken(url: string, token: string | null = getToken()): string {
  if (!token || !url.startsWith('/')) return url; // provider URLs (http...) never get our token
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}

export function authHeaders(token: string | null = getToken()): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}
