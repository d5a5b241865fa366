// Undo and redo of this tab's own confirmed changes, as pure functions over two stacks of steps. A step is
// `{workspaceId, before, after}`: undo sends `before` as an ordinary `workspace.update` (a forward change that the
// other tabs see and the history keeps), redo sends `after`. A burst of typing in one field is one step: a
// change of the same fields of the same card within COALESCE_MS of the step's last change joins it.
import type { Workspace } from '../api';
import { sameValue } from './flash';
import type { Patch } from './timeline';

/** Changes of the same fields this close together are one undo step. */
export const COALESCE_MS = 1000;
/** Steps kept per tab. */
export const MAX_STEPS = 100;

export interface UndoStep {
  workspaceId: string;
  /** The values before the change (a form key that was absent: `null`, which removes it). */
  before: Patch;
  /** The values the change set. */
  after: Patch;
  /** `title`, `image_path`, `image_url`, `form_data.<key>`, sorted. */
  keys: string[];
  /** When its last change was made (ms). */
  at: number;
}

export interface UndoStacks {
  undo: readonly UndoStep[];
  redo: readonly UndoStep[];
}

export const emptyStacks: UndoStacks = { undo: [], redo: [] };

const TOP = ['title', 'image_path', 'image_url'] as const;

/** The fields a patch sets, as keys. */
export function keysOf(patch: Patch): string[] {
  const keys: string[] = TOP.filter((k) => patch[k] !== undefined);
  for (const key of Object.keys(patch.form_data ?? {})) keys.push(`form_data.${key}`);
  return keys.sort();
}

/** What `patch` overwrites in `base`, as a patch that sets it back. */
export function beforeOf(base: Workspace, patch: Patch): Patch {
  const before: Patch = {};
  if (patch.title !== undefined) before.title = base.title;
  if (patch.image_path !== undefined) before.image_path = base.image_path;
  if (patch.image_url !== undefined) before.image_url = base.image_url;
  if (patch.form_data) {
    const form: Record<string, unknown> = {};
    for (const key of Object.keys(patch.form_data)) form[key] = base.form_data[key] ?? null;
    before.form_data = form;
  }
  return before;
}

/** `b` over `a`, key by key (form_data merged). */
function merge(a: Patch, b: Patch): Patch {
  const out: Patch = { ...a, ...b };
  if (a.form_data || b.form_data) out.form_data = { ...(a.form_data ?? {}), ...(b.form_data ?? {}) };
  return out;
}

/** Whether a step changes nothing (typed, then typed back). */
function isNoop(step: UndoStep): boolean {
  const value = (patch: Patch, key: string): unknown =>
    key.startsWith('form_data.') ? (patch.form_data ?? {})[key.slice(10)] : patch[key as (typeof TOP)[number]];
  return step.keys.every((key) => sameValue(value(step.before, key), value(step.after, key)));
}

/** A new confirmed change of this tab: the redo stack goes; it joins the last step or becomes a new one. */
export function record(
  stacks: UndoStacks,
  change: { workspaceId: string; before: Patch; after: Patch; at: number },
  coalesceMs = COALESCE_MS,
  max = MAX_STEPS,
): UndoStacks {
  const keys = keysOf(change.after);
  if (!keys.length) return stacks;
  const top = stacks.undo[stacks.undo.length - 1];
  const joins =
    top !== undefined &&
    top.workspaceId === change.workspaceId &&
    top.keys.join() === keys.join() &&
    change.at - top.at <= coalesceMs;
  const step: UndoStep = joins
    ? { ...top, after: merge(top.after, change.after), at: change.at }
    : { ...change, keys };
  const rest = joins ? stacks.undo.slice(0, -1) : stacks.undo;
  const undo = isNoop(step) ? rest : [...rest, step].slice(-max);
  return { undo, redo: [] };
}

/** The step to undo, moved to the redo stack (null: nothing to undo). */
export function takeUndo(stacks: UndoStacks): { stacks: UndoStacks; step: UndoStep } | null {
  const step = stacks.undo[stacks.undo.length - 1];
  if (!step) return null;
  return { step, stacks: { undo: stacks.undo.slice(0, -1), redo: [...stacks.redo, step] } };
}

/** The step to redo, moved back to the undo stack. */
export function takeRedo(stacks: UndoStacks): { stacks: UndoStacks; step: UndoStep } | null {
  const step = stacks.redo[stacks.redo.length - 1];
  if (!step) return null;
  return { step, stacks: { undo: [...stacks.undo, step], redo: stacks.redo.slice(0, -1) } };
}

/** A deleted card: its steps go. */
export function forgetCard(stacks: UndoStacks, workspaceId: string): UndoStacks {
  const keep = (s: UndoStep) => s.workspaceId !== workspaceId;
  if (stacks.undo.every(keep) && stacks.redo.every(keep)) return stacks;
  return { undo: stacks.undo.filter(keep), redo: stacks.redo.filter(keep) };
}
