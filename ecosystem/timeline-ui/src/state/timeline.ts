// The server's view of the timeline as this tab knows it, and the pure functions that apply what the server
// says to it. Each field keeps the version that last set it, so that a late confirmation or a stale snapshot
// never overwrites something newer (PROTOCOL.md 4.3: versions grow with every stored change).
import type { AiEntry, Video, Workspace } from '../api';

/** Client-writable fields (PROTOCOL.md 2); `form_data` is a partial patch where `null` removes a key. */
export interface Patch {
  title?: string;
  image_path?: string | null;
  image_url?: string | null;
  form_data?: Record<string, unknown>;
}

export interface Timeline {
  byId: Record<string, Workspace>;
  /** Ids in timeline order. */
  order: string[];
  /** Per workspace: field key (`title`, `form_data.prompt`, ...) -> version that set it. */
  fieldVersions: Record<string, Record<string, number>>;
  loaded: boolean;
}

export const emptyTimeline: Timeline = { byId: {}, order: [], fieldVersions: {}, loaded: false };

/** Top-level fields a `workspace.updated` may change: the client-writable ones and `narration_audio` (1.1, server-owned). */
const TOP_FIELDS = ['title', 'image_path', 'image_url', 'narration_audio'] as const;

/** A full list from the server. A card this tab already knows in a newer version is kept as it is. */
export function applySnapshot(state: Timeline, workspaces: Workspace[]): Timeline {
  const byId: Record<string, Workspace> = {};
  const fieldVersions: Record<string, Record<string, number>> = {};
  for (const incoming of workspaces) {
    const known = state.byId[incoming.id];
    if (known && known.version > incoming.version) {
      byId[incoming.id] = { ...known, order_index: incoming.order_index };
      fieldVersions[incoming.id] = state.fieldVersions[incoming.id] ?? {};
    } else {
      byId[incoming.id] = incoming;
      fieldVersions[incoming.id] = {};
    }
  }
  return { byId, order: workspaces.map((w) => w.id), fieldVersions, loaded: true };
}

/** A new card: at `position` when this tab asked for it there, else by `order_index` among the known cards. */
export function applyCreated(state: Timeline, workspace: Workspace, position?: number | null): Timeline {
  if (state.byId[workspace.id]) return state; // a re-sent create answered again, or our own echo
  const byId = { ...state.byId, [workspace.id]: workspace };
  let order: string[];
  if (position !== undefined && position !== null) {
    order = [...state.order];
    order.splice(Math.min(position, order.length), 0, workspace.id);
  } else {
    const index = state.order.findIndex((id) => (state.byId[id]?.order_index ?? 0) > workspace.order_index);
    order = [...state.order];
    order.splice(index < 0 ? order.length : index, 0, workspace.id);
  }
  return { ...state, byId, order, fieldVersions: { ...state.fieldVersions, [workspace.id]: {} } };
}

/** Merge a stored patch of `version` (a `workspace.updated` event, or the confirmation of our own update). */
export function applyChanges(state: Timeline, id: string, changes: Record<string, unknown>, version: number): Timeline {
  const current = state.byId[id];
  if (!current) return state;
  const versions = { ...(state.fieldVersions[id] ?? {}) };
  const next: Workspace = { ...current };
  const newer = (key: string) => version > (versions[key] ?? 0) && version >= 0;
  for (const field of TOP_FIELDS) {
    if (field in changes && newer(field)) {
      (next as unknown as Record<string, unknown>)[field] = changes[field];
      versions[field] = version;
    }
  }
  const form = changes.form_data;
  if (form && typeof form === 'object') {
    const formData = { ...current.form_data };
    for (const [key, value] of Object.entries(form as Record<string, unknown>)) {
      const vkey = `form_data.${key}`;
      if (!newer(vkey)) continue;
      if (value === null) delete formData[key];
      else formData[key] = value;
      versions[vkey] = version;
    }
    next.form_data = formData;
  }
  if (Array.isArray(changes.ai_collaboration)) {
    next.ai_collaboration = mergeAi(current.ai_collaboration, changes.ai_collaboration as AiEntry[]);
  }
  next.version = Math.max(current.version, version);
  return {
    ...state,
    byId: { ...state.byId, [id]: next },
    fieldVersions: { ...state.fieldVersions, [id]: versions },
  };
}

/** Fields this tab learnt from a REST answer (an upload): no version came with them. */
export function applyLocal(state: Timeline, id: string, fields: Partial<Pick<Workspace, 'image_path' | 'image_url'>>): Timeline {
  const current = state.byId[id];
  if (!current) return state;
  return { ...state, byId: { ...state.byId, [id]: { ...current, ...fields } } };
}

export function applyDeleted(state: Timeline, id: string): Timeline {
  if (!state.byId[id]) return state;
  const byId = { ...state.byId };
  delete byId[id];
  const fieldVersions = { ...state.fieldVersions };
  delete fieldVersions[id];
  return { ...state, byId, order: state.order.filter((x) => x !== id), fieldVersions };
}

/** A new order of the whole timeline; ids this tab does not know are skipped, known ones left out are kept last. */
export function applyOrder(state: Timeline, order: string[]): Timeline {
  const known = order.filter((id) => state.byId[id]);
  const rest = state.order.filter((id) => !known.includes(id));
  const next = [...known, ...rest];
  if (next.length === state.order.length && next.every((id, i) => id === state.order[i])) return state;
  return { ...state, order: next };
}

export function applyVideo(state: Timeline, id: string, video: Video): Timeline {
  const current = state.byId[id];
  if (!current) return state;
  return { ...state, byId: { ...state.byId, [id]: { ...current, video } } };
}

/** Append AI entries that are not there yet. */
export function appendAi(state: Timeline, id: string, entries: AiEntry[]): Timeline {
  const current = state.byId[id];
  if (!current) return state;
  const merged = mergeAi(current.ai_collaboration, entries);
  if (merged === current.ai_collaboration) return state;
  return { ...state, byId: { ...state.byId, [id]: { ...current, ai_collaboration: merged } } };
}

function sameEntry(a: AiEntry, b: AiEntry): boolean {
  return a.role === b.role && a.content === b.content && a.created_at === b.created_at;
}

function mergeAi(current: AiEntry[], entries: AiEntry[]): AiEntry[] {
  const fresh = entries.filter((e) => !current.some((c) => sameEntry(c, e)));
  return fresh.length ? [...current, ...fresh] : current;
}
