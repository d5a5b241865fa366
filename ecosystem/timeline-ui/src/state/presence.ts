// The other connections of the project and what each is looking at (PROTOCOL.md 10.1), as pure functions over a
// record by connection id: rebuilt from `connection.ready.presence` on every (re)connect, changed by
// `presence.changed`, emptied of one by `presence.left`. States come from other clients: only the fields this
// UI shows are taken, each checked, so a strange state never breaks the page.
import type { PresenceEntry } from '../api';
import { colorFor } from './identity';

/** What this UI sends as its `presence.update` state. */
export interface PresenceState {
  name: string;
  color: string;
  workspace_id: string | null;
  /** The form field in focus: `title`, or a `form_data` key (`prompt`, `camera_movement`, ...). */
  field: string | null;
  /** Typed into that field a moment ago. */
  typing: boolean;
}

export interface Peer {
  connectionId: string;
  name: string;
  color: string;
  /** The token's `sub`, added by the server with per-project tokens. */
  user: string | null;
  workspaceId: string | null;
  field: string | null;
  typing: boolean;
  /** When it connected (from `connection.ready`), else when this tab first heard of it. */
  since: string | null;
}

export type Peers = Readonly<Record<string, Peer>>;

export const noPeers: Peers = {};

const NAME_MAX = 40;
const COLOR = /^#[0-9a-f]{6}$/i;

const text = (value: unknown, max: number): string | null =>
  typeof value === 'string' && value.trim() ? value.trim().slice(0, max) : null;

/** A peer from a state as received (`null`: connected, nothing sent yet). */
export function peerOf(connectionId: string, state: unknown, since: string | null = null): Peer {
  const s = state && typeof state === 'object' && !Array.isArray(state) ? (state as Record<string, unknown>) : {};
  const user = text(s.user, NAME_MAX);
  const name = text(s.name, NAME_MAX) ?? user ?? 'Anonymous';
  const color = typeof s.color === 'string' && COLOR.test(s.color) ? s.color : colorFor(name);
  const workspaceId = text(s.workspace_id, 64);
  return {
    connectionId,
    name,
    color,
    user,
    workspaceId,
    field: workspaceId ? text(s.field, 64) : null,
    typing: workspaceId !== null && s.typing === true,
    since,
  };
}

/** Everyone `connection.ready` names (this connection never: a server may list it). */
export function fromReady(entries: readonly PresenceEntry[] | undefined, self: string | null): Peers {
  const peers: Record<string, Peer> = {};
  for (const entry of entries ?? []) {
    if (!entry || typeof entry.connection_id !== 'string' || entry.connection_id === self) continue;
    peers[entry.connection_id] = peerOf(entry.connection_id, entry.state, entry.since ?? null);
  }
  return peers;
}

/** A `presence.changed`: a new connection (`state` null) or a new state of a known one. */
export function changed(
  peers: Peers,
  connectionId: string,
  state: unknown,
  self: string | null,
  at: string = new Date().toISOString(),
): Peers {
  if (connectionId === self) return peers;
  const since = peers[connectionId]?.since ?? at;
  return { ...peers, [connectionId]: peerOf(connectionId, state, since) };
}

export function left(peers: Peers, connectionId: string): Peers {
  if (!peers[connectionId]) return peers;
  const next = { ...peers };
  delete next[connectionId];
  return next;
}

/** The peers in a stable order: who came first, first. */
export function listPeers(peers: Peers): Peer[] {
  return Object.values(peers).sort(
    (a, b) => (a.since ?? '').localeCompare(b.since ?? '') || a.connectionId.localeCompare(b.connectionId),
  );
}

/** The peers on a card (any field, or none), or, with `field`, in that field of it. */
export function peersOn(peers: Peers, workspaceId: string, field?: string): Peer[] {
  return listPeers(peers).filter((p) => p.workspaceId === workspaceId && (field === undefined || p.field === field));
}

/** Names of connections seen (kept after they leave), for the "who" of history entries. */
export function rememberNames(names: Readonly<Record<string, string>>, peers: Peers, max = 200): Record<string, string> {
  const next: Record<string, string> = { ...names };
  let added = false;
  for (const peer of Object.values(peers)) {
    if (next[peer.connectionId] !== peer.name) {
      delete next[peer.connectionId]; // re-insert: the newest last
      next[peer.connectionId] = peer.name;
      added = true;
    }
  }
  if (!added) return names as Record<string, string>;
  const ids = Object.keys(next);
  for (const id of ids.slice(0, Math.max(0, ids.length - max))) delete next[id];
  return next;
}
