// The save pipeline of the cards' edits: an edit waits in the card's draft for `debounceMs` without further
// edits, then only its changed fields go out as one `workspace.update`; the confirmation moves it into the
// server's copy and shows "Saved" for `savedChipMs`; a failure keeps it for the next attempt or drops it. Each
// confirmed update is reported with the values it overwrote (`onSaved`), which is what undo sends back.
import { RequestError, newMessageId, type WorkspaceClient } from '../api';
import type { StateCell } from './cell';
import { describe } from './describe';
import { changedOnly, isEmpty, mergePatch, noEdits, viewOf, type CardEdits } from './edits';
import { KeyedTimers } from './timers';
import { applyChanges, type Patch } from './timeline';
import { beforeOf } from './undo';

export const EDIT_DEBOUNCE_MS = 300;
/** How long the card's chip says "Saved" after a confirmation before it fades away. */
export const SAVED_CHIP_MS = 1600;

/** Failures after which the server may simply not have had the update: it is sent again later. */
const RETRYABLE = ['timeout', 'closed', 'unavailable', 'rate_limited'];

export interface SavingOptions {
  debounceMs: number;
  savedChipMs: number;
  now: () => number;
  /** The server no longer has the card: the store drops it (and calls `forget` here). */
  onNotFound: (id: string) => void;
  /** An update of this tab was confirmed: `after` replaced `before` (the values it overwrote), sent at `at`. */
  onSaved?: (id: string, before: Patch, after: Patch, at: number) => void;
}

export interface FlushOptions {
  /** Report the confirmation to `onSaved` (default true; undo and redo themselves are not new steps). */
  record?: boolean;
}

export class SavePipeline {
  private readonly debounce = new Map<string, ReturnType<typeof setTimeout>>();
  /** Per card: the timer that ends the "Saved" chip. */
  private readonly savedTimers = new KeyedTimers();
  /** Updates sent and not settled yet. */
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly cell: StateCell,
    private readonly client: WorkspaceClient,
    private readonly options: SavingOptions,
  ) {}

  private setEdits(id: string, edits: CardEdits | undefined): void {
    this.cell.setCard('edits', id, edits);
  }

  /** Record an edit; it is sent (only the changed fields) after `debounceMs` without further edits. */
  edit(id: string, patch: Patch): void {
    const current = this.cell.get().edits[id] ?? noEdits;
    this.savedTimers.clear(id);
    this.setEdits(id, { ...current, draft: mergePatch(current.draft, patch), error: undefined, savedAt: undefined });
    clearTimeout(this.debounce.get(id));
    this.debounce.set(
      id,
      setTimeout(() => {
        this.debounce.delete(id);
        void this.flush(id);
      }, this.options.debounceMs),
    );
  }

  /** Send the draft of a card now. */
  flush(id: string, options: FlushOptions = {}): Promise<void> {
    clearTimeout(this.debounce.get(id));
    this.debounce.delete(id);
    const state = this.cell.get();
    const server = state.timeline.byId[id];
    const edits = state.edits[id];
    if (!server || !edits || isEmpty(edits.draft)) return Promise.resolve();
    const base = viewOf(server, { ...edits, draft: {} });
    const patch = changedOnly(base, edits.draft);
    if (isEmpty(patch)) {
      this.setEdits(id, { ...edits, draft: {} });
      return Promise.resolve();
    }
    const messageId = newMessageId('u');
    const before = beforeOf(base, patch);
    const sentAt = this.options.now();
    this.setEdits(id, { ...edits, draft: {}, inflight: [...edits.inflight, { messageId, patch }] });
    const done: Promise<void> = this.client
      .request({ type: 'workspace.update', id: messageId, workspace_id: id, updates: patch })
      .then((confirm) => {
        this.cell.setTimeline(applyChanges(this.cell.get().timeline, id, patch as Record<string, unknown>, confirm.version));
        if (options.record !== false) this.options.onSaved?.(id, before, patch, sentAt);
        const now = this.cell.get().edits[id];
        if (!now) return;
        const savedAt = this.options.now();
        this.setEdits(id, { ...now, inflight: now.inflight.filter((f) => f.messageId !== messageId), savedAt });
        this.savedTimers.set(id, this.options.savedChipMs, () => this.endSaved(id, savedAt));
      })
      .catch((error: unknown) => {
        const now = this.cell.get().edits[id];
        if (!now) return;
        if (error instanceof RequestError && error.code === 'not_found') {
          this.options.onNotFound(id);
          return;
        }
        const inflight = now.inflight.filter((f) => f.messageId !== messageId);
        const retryable = error instanceof RequestError && RETRYABLE.includes(error.code);
        // Kept for the next attempt when the server may simply not have had it; dropped when it refused it.
        const draft = retryable ? mergePatch(patch, now.draft) : now.draft;
        this.setEdits(id, { ...now, inflight, draft, error: describe(error) });
      })
      .finally(() => this.running.delete(done));
    this.running.add(done);
    return done;
  }

  /** Send every draft now and wait until every update of this tab is settled (confirmed or failed). */
  async settleAll(): Promise<void> {
    for (const id of Object.keys(this.cell.get().edits)) void this.flush(id);
    while (this.running.size) await Promise.all([...this.running]);
  }

  /** The connection is back: drafts typed offline whose debounce already ran (or failed) go out now. */
  flushWaiting(): void {
    for (const [id, edits] of Object.entries(this.cell.get().edits)) {
      if (!isEmpty(edits.draft) && !this.debounce.has(id)) void this.flush(id);
    }
  }

  /** A card that is gone: its timers end (the store drops its edits). */
  forget(id: string): void {
    clearTimeout(this.debounce.get(id));
    this.debounce.delete(id);
    this.savedTimers.clear(id);
  }

  /** No timer left behind. */
  stop(): void {
    for (const timer of this.debounce.values()) clearTimeout(timer);
    this.debounce.clear();
    this.savedTimers.clearAll();
  }

  /** The "Saved" chip of a confirmation has been shown long enough (a newer save keeps its own). */
  private endSaved(id: string, savedAt: number): void {
    const now = this.cell.get().edits[id];
    if (now?.savedAt === savedAt) this.setEdits(id, { ...now, savedAt: undefined });
  }
}
