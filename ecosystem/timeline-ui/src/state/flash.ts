// Fields another tab changed, flashed for a moment in the open form (until presence tells who edits what).
// Keys are `title` and `form_data.<key>`, the same names the timeline's field versions use.
import type { Workspace } from '../api';
import { KeyedTimers } from './timers';

/** How long a field another tab changed stays highlighted. */
export const FLASH_MS = 1500;

/** The shown fields (`title`, `form_data.<key>`) whose value differs between two copies of a card. */
export function changedKeys(before: Workspace | undefined, after: Workspace | undefined): string[] {
  if (!before || !after || before === after) return [];
  const keys: string[] = [];
  if (before.title !== after.title) keys.push('title');
  const names = new Set([...Object.keys(before.form_data), ...Object.keys(after.form_data)]);
  for (const name of names) {
    if (!sameValue(before.form_data[name], after.form_data[name])) keys.push(`form_data.${name}`);
  }
  return keys;
}

/** Equal JSON values (an absent key and `null` are the same: `null` removes a form key). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b || (a == null && b == null)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Per card, the keys that are flashing now. */
export type Flashes = Record<string, readonly string[]>;

/** Keeps the flashing keys of every card and takes each one away FLASH_MS after its last change. */
export class FieldFlashes {
  private state: Flashes = {};
  private readonly timers = new KeyedTimers();

  constructor(
    private readonly onChange: (flashes: Flashes) => void,
    private readonly ms = FLASH_MS,
  ) {}

  get current(): Flashes {
    return this.state;
  }

  /** Flash `keys` of card `id` (again: a key flashing already gets a fresh FLASH_MS). */
  flash(id: string, keys: readonly string[]): void {
    if (!keys.length) return;
    const now = this.state[id] ?? [];
    const fresh = keys.filter((k) => !now.includes(k));
    if (fresh.length) this.publish({ ...this.state, [id]: [...now, ...fresh] });
    for (const key of keys) this.timers.set(`${id}\u0000${key}`, this.ms, () => this.unflash(id, key));
  }

  /** A deleted card: nothing of it flashes any more. */
  forget(id: string): void {
    this.timers.clearPrefix(`${id}\u0000`);
    if (!this.state[id]) return;
    const next = { ...this.state };
    delete next[id];
    this.publish(next);
  }

  stop(): void {
    this.timers.clearAll();
  }

  private unflash(id: string, key: string): void {
    const left = (this.state[id] ?? []).filter((k) => k !== key);
    const next = { ...this.state };
    if (left.length) next[id] = left;
    else delete next[id];
    this.publish(next);
  }

  private publish(next: Flashes): void {
    this.state = next;
    this.onChange(next);
  }
}

/** Whether `key` of a card flashes (`flashes` is the card's list from the store). */
export function isFlashing(flashes: readonly string[] | undefined, key: string): boolean {
  return flashes?.includes(key) ?? false;
}
