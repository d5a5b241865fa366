// Working together (PROTOCOL.md 10): presence, the history drawer and undo, wired once for the store. Each part
// is its own module (presenceSync.ts, historyActions.ts, undoActions.ts); components reach them as
// `store.collab.presence`, `store.collab.history` and `store.collab.undo`.
import type { WorkspaceClient } from '../api';
import type { StateCell } from './cell';
import { HistoryActions } from './historyActions';
import { PresenceSync } from './presenceSync';
import type { SavePipeline } from './saving';
import type { Patch } from './timeline';
import { UndoActions } from './undoActions';

export interface CollabOptions {
  /** True (and the store says why) when the tab's token may not change the timeline. */
  readOnly: () => boolean;
  now: () => number;
}

export class Collab {
  readonly presence: PresenceSync;
  readonly history: HistoryActions;
  readonly undo: UndoActions;

  constructor(cell: StateCell, client: WorkspaceClient, saving: SavePipeline, options: CollabOptions) {
    this.undo = new UndoActions(cell, saving, { readOnly: options.readOnly });
    this.presence = new PresenceSync(cell, client, { now: options.now });
    this.history = new HistoryActions(cell, client, saving, {
      readOnly: options.readOnly,
      now: options.now,
      onRestored: (id, before, after, at) => this.undo.record(id, before, after, at),
    });
  }

  /** A confirmed update of this tab (the save pipeline's `onSaved`): an undo step. */
  saved(id: string, before: Patch, after: Patch, at: number): void {
    this.undo.record(id, before, after, at);
  }

  /** Listen to the client; returns the unsubscribe. */
  attach(): () => void {
    const off = [this.presence.attach(), this.history.attach()];
    return () => off.forEach((f) => f());
  }

  /** A deleted card. */
  forget(id: string): void {
    this.history.forget(id);
    this.undo.forget(id);
  }

  stop(): void {
    this.presence.stop();
    this.history.stop();
  }
}
