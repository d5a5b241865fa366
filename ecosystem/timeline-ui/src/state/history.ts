// A card's history as far as this tab has loaded it (PROTOCOL.md 10.2), newest first, and the pure functions
// that page through it: an older page (`before_version` = the oldest version loaded) goes at the end, a fresh
// first page (after a change) goes on top of what is loaded, unless a gap would be left between them.
import type { HistoryEntry } from '../api';

/** Entries asked for per page. */
export const HISTORY_PAGE = 20;

export interface HistoryList {
  entries: HistoryEntry[];
  loading: boolean;
  /** The oldest entry the server keeps is loaded: no "Load more". */
  done: boolean;
  error?: string;
  /** The version being restored. */
  restoring?: number;
  /** What the last restore did, in words. */
  result?: string;
}

export const emptyHistory: HistoryList = { entries: [], loading: false, done: false };

/** Newest first, one entry per version (a later copy of a version replaces an earlier one). */
function sorted(entries: readonly HistoryEntry[]): HistoryEntry[] {
  const byVersion = new Map<number, HistoryEntry>();
  for (const entry of entries) byVersion.set(entry.version, entry);
  return [...byVersion.values()].sort((a, b) => b.version - a.version);
}

/** The `before_version` of the next older page (undefined: nothing loaded yet, ask for the newest). */
export function beforeVersion(list: HistoryList): number | undefined {
  return list.entries.length ? list.entries[list.entries.length - 1].version : undefined;
}

/** An older page, answered to `before_version`: appended; fewer than `limit` entries means the end. */
export function olderPage(list: HistoryList, page: readonly HistoryEntry[], limit: number): HistoryList {
  return { ...list, entries: sorted([...list.entries, ...page]), loading: false, error: undefined, done: page.length < limit };
}

/** A first page (no `before_version`), asked for again after a change: the new entries go on top. */
export function newestPage(list: HistoryList, page: readonly HistoryEntry[], limit: number): HistoryList {
  const oldestOfPage = page.length ? page[page.length - 1].version : undefined;
  const newestLoaded = list.entries.length ? list.entries[0].version : undefined;
  // A full page that ends above everything loaded may not reach it: start again from this page.
  const gap = page.length >= limit && oldestOfPage !== undefined && newestLoaded !== undefined && oldestOfPage > newestLoaded;
  if (gap || !list.entries.length) {
    return { ...list, entries: sorted(page), loading: false, error: undefined, done: page.length < limit };
  }
  const done = page.length < limit || list.done; // a short first page is all there is
  return { ...list, entries: sorted([...page, ...list.entries]), loading: false, error: undefined, done };
}
