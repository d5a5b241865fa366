import { getToken, setToken } from './auth';

/** A timeline name as the server takes it (PROTOCOL.md 2: 1-64 of `[A-Za-z0-9_-]`). */
export function isProjectName(name: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(name);
}

/** The timeline's name: `?project=` of the page URL, default `default`. */
export function projectFromLocation(search: string = globalThis.location?.search ?? ''): string {
  const name = new URLSearchParams(search).get('project');
  return name && isProjectName(name) ? name : 'default';
}

/** The page's address opening timeline `project` (the other parameters kept). */
export function projectHref(project: string, loc: Location = globalThis.location): string {
  const params = new URLSearchParams(loc.search);
  params.set('project', project);
  params.delete('token');
  return `${loc.pathname}?${params.toString()}${loc.hash}`;
}

/** Same-origin `ws(s)://host/ws?project=...[&token=...]`. */
export function websocketUrl(project: string, token: string | null = getToken(), loc: Location = globalThis.location): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  const params = new URLSearchParams({ project });
  if (token) params.set('token', token);
  return `${scheme}//${loc.host}/ws?${params.toString()}`;
}

/**
 * A page opened as `/?token=...` (how a browser reaches a server with AUTH_TOKEN set): keep the token for this tab
 * and take it out of the address bar, so it is not bookmarked, shared or left in the history.
 */
export function adoptTokenFromLocation(loc: Location = globalThis.location, history: History = globalThis.history): void {
  const params = new URLSearchParams(loc.search);
  const token = params.get('token');
  if (!token) return;
  setToken(token);
  params.delete('token');
  const query = params.toString();
  history.replaceState(history.state, '', `${loc.pathname}${query ? `?${query}` : ''}${loc.hash}`);
}
