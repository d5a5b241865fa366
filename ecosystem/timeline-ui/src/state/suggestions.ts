// Whether an AI suggestion is already in the form. The conversation is server-owned and has no "applied" mark,
// so after a reload the page compares the suggestion's patch with the shot form instead.
import type { AiEntry } from '../api';
import { sameValue } from './flash';

/** Every key of `patch` already has its value in `form` (a `null` in the patch: the key is absent). */
export function isPatchApplied(patch: Record<string, unknown> | null | undefined, form: Record<string, unknown>): boolean {
  if (!patch) return false;
  const keys = Object.keys(patch);
  return keys.length > 0 && keys.every((key) => sameValue(patch[key], form[key]));
}

/** An assistant answer with a form patch that the form already has. */
export function isSuggestionApplied(entry: AiEntry, form: Record<string, unknown>): boolean {
  return entry.role === 'assistant' && isPatchApplied(entry.form_data_patch, form);
}
