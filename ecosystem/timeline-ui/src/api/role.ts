// What the tab's token lets its holder do, for display only (PROTOCOL.md 9.1): the server checks every token
// and refuses what it does not allow (`forbidden`); this only decides what the UI offers. A JSON Web Token's
// payload is read without checking its signature. Anything that is not a readable JWT (AUTH_TOKEN, or no token
// at all when the server has authentication off) may do everything.

export type Role = 'viewer' | 'editor' | 'admin';

export interface Access {
  role: Role;
  /** The JWT's `sub` (who it is), when it has one. */
  user: string | null;
  /** The JWT's `exp` in milliseconds since the epoch, when it has one. */
  expiresAt: number | null;
}

export const FULL_ACCESS: Access = { role: 'admin', user: null, expiresAt: null };

const ROLES: readonly string[] = ['viewer', 'editor', 'admin'];

/** The claims of a JWT-shaped token (`header.payload.signature`), or null when its payload is not a JSON object. */
export function jwtClaims(token: string): Record<string, unknown> | null {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const claims: unknown = JSON.parse(base64UrlDecode(parts[1]));
    return claims && typeof claims === 'object' && !Array.isArray(claims) ? (claims as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The access of `token`; a JWT without a known `role` is a viewer (the server refuses it anyway). */
export function accessOf(token: string | null | undefined): Access {
  if (!token) return FULL_ACCESS;
  const claims = jwtClaims(token);
  if (!claims) return FULL_ACCESS; // AUTH_TOKEN: its holder may do everything
  const role = typeof claims.role === 'string' && ROLES.includes(claims.role) ? (claims.role as Role) : 'viewer';
  const user = typeof claims.sub === 'string' && claims.sub ? claims.sub : null;
  const exp = typeof claims.exp === 'number' && Number.isFinite(claims.exp) ? claims.exp * 1000 : null;
  return { role, user, expiresAt: exp };
}

/** Whether `access` may change the timeline (create, edit, delete, reorder, upload, video and AI jobs). */
export function canEdit(access: Access): boolean {
  return access.role !== 'viewer';
}

/** Whether the token's `exp` has passed at `now`. */
export function isExpired(access: Access, now: number = Date.now()): boolean {
  return access.expiresAt !== null && access.expiresAt <= now;
}

/** base64url (no padding) -> the UTF-8 text it encodes; throws on anything else. */
function base64UrlDecode(text: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new Error('not base64url');
  const base64 = text.replaceAll('-', '+').replaceAll('_', '/') + '='.repeat((4 - (text.length % 4)) % 4);
  const binary = atob(base64);
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}
