// A history entry's `changes` (PROTOCOL.md 10.2) in a few words, and who made it.
import type { HistoryAuthor } from '../api';
import { fieldLabel, humanize } from './labels';

/** Form keys whose values are names (`pan_left`), shown humanized. */
const NAMED = new Set(['camera_movement', 'shot_size', 'lighting']);

function clip(text: string, max = 40): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function valueText(key: string, value: unknown): string {
  if (typeof value === 'string') return `“${clip(NAMED.has(key) ? humanize(value) : value)}”`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return 'changed';
}

/** E.g. `Title “Harbour”; Camera “Pan left”; Lighting removed; Picture changed`. */
export function describeChanges(changes: Record<string, unknown>): string {
  const parts: string[] = [];
  if ('title' in changes) {
    const title = typeof changes.title === 'string' ? changes.title : '';
    parts.push(title ? `Title “${clip(title)}”` : 'Title cleared');
  }
  if ('image_path' in changes || 'image_url' in changes) {
    parts.push(changes.image_url === null && changes.image_path == null ? 'Picture removed' : 'Picture changed');
  }
  const form = changes.form_data;
  if (form && typeof form === 'object' && !Array.isArray(form)) {
    for (const [key, value] of Object.entries(form as Record<string, unknown>)) {
      const label = fieldLabel(key);
      parts.push(value === null ? `${label} removed` : `${label} ${valueText(key, value)}`);
    }
  }
  return parts.length ? parts.join('; ') : 'No field changed';
}

/** Who made an entry: this tab ("You"), a token's `sub`, a name seen in presence, or another tab. */
export function authorOf(by: HistoryAuthor, names: Readonly<Record<string, string>>): string {
  const seen = by.connection_id ? names[by.connection_id] : undefined;
  if (seen === 'You') return 'You';
  if (by.user) return by.user;
  if (seen) return seen;
  return by.connection_id ? 'Another tab' : 'The server (upload or job)';
}
