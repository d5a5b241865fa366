// Local edits of one card on top of the server's copy: a draft (typed, not sent yet) and the updates sent but
// not confirmed. What the card shows is server + in-flight patches + draft, so nothing typed is ever lost to a
// reconnect, a snapshot or another tab's change.
import type { Workspace } from '../api';
import type { Patch } from './timeline';

export interface InFlight {
  messageId: string;
  patch: Patch;
}

export interface CardEdits {
  draft: Patch;
  inflight: InFlight[];
  /** The last update failed; its text, until the next edit. */
  error?: string;
  /** When the last update was confirmed (ms since epoch). */
  savedAt?: number;
}

export const noEdits: CardEdits = { draft: {}, inflight: [] };

export type SaveState = 'idle' | 'editing' | 'saving' | 'saved' | 'offline' | 'error';

export function saveState(edits: CardEdits | undefined, connected: boolean): SaveState {
  if (!edits) return 'idle';
  if (edits.error) return 'error';
  const pending = !isEmpty(edits.draft) || edits.inflight.length > 0;
  if (pending && !connected) return 'offline';
  if (!isEmpty(edits.draft)) return 'editing';
  if (edits.inflight.length) return 'saving';
  return edits.savedAt ? 'saved' : 'idle';
}

export function isEmpty(patch: Patch): boolean {
  return (
    patch.title === undefined &&
    patch.image_path === undefined &&
    patch.image_url === undefined &&
    (!patch.form_data || Object.keys(patch.form_data).length === 0)
  );
}

/** `b` applied over `a` (form_data merged key by key). */
export function mergePatch(a: Patch, b: Patch): Patch {
  const out: Patch = { ...a, ...b };
  if (a.form_data || b.form_data) out.form_data = { ...(a.form_data ?? {}), ...(b.form_data ?? {}) };
  return out;
}

/** A patch applied to a workspace, the way the server merges it. */
export function applyPatch(workspace: Workspace, patch: Patch): Workspace {
  const next: Workspace = { ...workspace };
  if (patch.title !== undefined) next.title = patch.title;
  if (patch.image_path !== undefined) next.image_path = patch.image_path;
  if (patch.image_url !== undefined) next.image_url = patch.image_url;
  if (patch.form_data) {
    const form = { ...workspace.form_data };
    for (const [key, value] of Object.entries(patch.form_data)) {
      if (value === null) delete form[key];
      else form[key] = value;
    }
    next.form_data = form;
  }
  return next;
}

/** What the card shows. */
export function viewOf(server: Workspace, edits: CardEdits | undefined): Workspace {
  if (!edits) return server;
  let view = server;
  for (const f of edits.inflight) view = applyPatch(view, f.patch);
  return isEmpty(edits.draft) ? view : applyPatch(view, edits.draft);
}

/** The draft without the fields whose value is already what the server has (plus what is in flight). */
export function changedOnly(base: Workspace, draft: Patch): Patch {
  const out: Patch = {};
  if (draft.title !== undefined && draft.title !== base.title) out.title = draft.title;
  if (draft.image_path !== undefined && draft.image_path !== base.image_path) out.image_path = draft.image_path;
  if (draft.image_url !== undefined && draft.image_url !== base.image_url) out.image_url = draft.image_url;
  if (draft.form_data) {
    const form: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(draft.form_data)) {
      const current = base.form_data[key];
      const same = value === null ? current === undefined : JSON.stringify(current) === JSON.stringify(value);
      if (!same) form[key] = value;
    }
    if (Object.keys(form).length) out.form_data = form;
  }
  return out;
}
