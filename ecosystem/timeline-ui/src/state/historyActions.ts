// The history drawer's actions (PROTOCOL.md 10.2): load a card's entries page by page, follow new changes while
// the drawer is open, and restore a version. A restore is an ordinary forward change: the server confirms it
// with `workspace.sync_confirm` only, so the new entry (its `changes`) is read back and applied like any other
// update of the card; the other tabs get `workspace.updated`.
import type { ServerMessage, WorkspaceClient } from '../api';
import type { StateCell } from './cell';
import { describe } from './describe';
import { beforeVersion, emptyHistory, HISTORY_PAGE, newestPage, olderPage, type HistoryList } from './history';
import type { SavePipeline } from './saving';
import { KeyedTimers } from './timers';
import { applyChanges, type Patch } from './timeline';
import { beforeOf } from './undo';

/** A change of the card whose drawer is open reloads its first page this much later (bursts are one reload). */
const REFRESH_MS = 300;

export interface HistoryOptions {
  /** True (and the store says why) when the tab's token may not change the timeline. */
  readOnly: () => boolean;
  /** A restore of this tab was confirmed: `after` replaced `before` (for undo). */
  onRestored?: (id: string, before: Patch, after: Patch, at: number) => void;
  pageSize?: number;
  now?: () => number;
}

export class HistoryActions {
  private readonly timers = new KeyedTimers();
  private readonly pageSize: number;
  private readonly now: () => number;

  constructor(
    private readonly cell: StateCell,
    private readonly client: WorkspaceClient,
    private readonly saving: SavePipeline,
    private readonly options: HistoryOptions,
  ) {
    this.pageSize = options.pageSize ?? HISTORY_PAGE;
    this.now = options.now ?? (() => Date.now());
  }

  /** Follow the changes of the open card (another tab's, or this tab's confirmed ones). */
  attach(): () => void {
    return this.client.onMessage((message: ServerMessage, own: boolean) => {
      const changedCard =
        message.type === 'workspace.updated' || (own && message.type === 'workspace.sync_confirm') ? message.workspace_id : null;
      if (changedCard && changedCard === this.cell.get().historyFor) this.scheduleRefresh(changedCard);
    });
  }

  private list(id: string): HistoryList {
    return this.cell.get().history[id] ?? emptyHistory;
  }

  private setList(id: string, list: HistoryList): void {
    this.cell.setCard('history', id, list);
  }

  /** Open the drawer of card `id` and load its newest entries. */
  open(id: string): void {
    this.cell.set({ historyFor: id });
    void this.load(id);
  }

  close(): void {
    this.timers.clearAll();
    this.cell.set({ historyFor: null });
  }

  /** The next older page. */
  more(id: string): Promise<void> {
    const list = this.list(id);
    if (list.loading || list.done) return Promise.resolve();
    return this.load(id, beforeVersion(list));
  }

  /** Make `version`'s title, picture and form the card's current ones again (a new version). */
  async restore(id: string, version: number): Promise<void> {
    if (this.options.readOnly()) return;
    this.setList(id, { ...this.list(id), restoring: version, result: undefined, error: undefined });
    await this.saving.flush(id); // what was typed just now is stored first (and so is restorable itself)
    const at = this.now();
    try {
      const confirm = await this.client.request({ type: 'workspace.restore', workspace_id: id, version });
      const page = await this.client.request({ type: 'workspace.history', workspace_id: id, limit: this.pageSize });
      const entry = page.entries.find((e) => e.version === confirm.version);
      const server = this.cell.get().timeline.byId[id];
      let result = `Restored version ${version} as version ${confirm.version}.`;
      if (entry && server) {
        const changes = entry.changes as Patch;
        this.cell.setTimeline(applyChanges(this.cell.get().timeline, id, entry.changes, entry.version));
        if (Object.keys(changes).length) this.options.onRestored?.(id, beforeOf(server, changes), changes, at);
        else result = `Version ${version} is what the shot already has: nothing changed.`;
      } else {
        this.client.reload().catch(() => undefined); // the new entry is not in the first page: take the whole state
      }
      this.setList(id, { ...newestPage(this.list(id), page.entries, this.pageSize), restoring: undefined, result });
    } catch (error) {
      this.setList(id, { ...this.list(id), restoring: undefined, error: `Could not restore version ${version}: ${describe(error)}` });
    }
  }

  /** A deleted card: its history goes, and its drawer closes. */
  forget(id: string): void {
    this.timers.clear(id);
    if (this.cell.get().history[id]) this.cell.setCard('history', id, undefined);
    if (this.cell.get().historyFor === id) this.cell.set({ historyFor: null });
  }

  stop(): void {
    this.timers.clearAll();
  }

  private scheduleRefresh(id: string): void {
    this.timers.set(id, REFRESH_MS, () => {
      if (this.cell.get().historyFor !== id) return;
      if (this.list(id).loading) this.scheduleRefresh(id);
      else void this.load(id);
    });
  }

  /** Load the newest page (`before` undefined) or the page before version `before`. */
  private async load(id: string, before?: number): Promise<void> {
    this.setList(id, { ...this.list(id), loading: true, error: undefined });
    try {
      const reply = await this.client.request({
        type: 'workspace.history',
        workspace_id: id,
        limit: this.pageSize,
        ...(before === undefined ? {} : { before_version: before }),
      });
      if (!this.cell.get().history[id]) return; // forgotten meanwhile
      const list = this.list(id);
      this.setList(id, before === undefined ? newestPage(list, reply.entries, this.pageSize) : olderPage(list, reply.entries, this.pageSize));
    } catch (error) {
      if (!this.cell.get().history[id]) return;
      this.setList(id, { ...this.list(id), loading: false, error: `Could not load the history: ${describe(error)}` });
    }
  }
}
