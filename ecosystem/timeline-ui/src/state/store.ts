// The timeline of one tab: the protocol client, the server's state as this tab knows it, and the local edits.
// React components read it with useSyncExternalStore (see useTimeline.tsx) and call its actions. This module
// wires the parts and handles what the server says and the card list (create, delete, reorder); the save
// pipeline is saving.ts, the picture uploads.ts, the video video.ts, the AI ai.ts, the state itself cell.ts;
// presence, history and undo are `collab` (collab.ts); the project's jobs are `jobs` (jobs.ts) and the film
// built from them `film` (film.ts).
import {
  accessOf,
  canEdit,
  getToken,
  newMessageId,
  setToken as storeToken,
  type ConnectionStatus,
  type ServerMessage,
  type Workspace,
  type WorkspaceClient,
} from '../api';
import { AiActions } from './ai';
import { initialState, StateCell, type StoreState } from './cell';
import { Collab } from './collab';
import { describe, READ_ONLY } from './describe';
import { FilmActions } from './film';
import { viewOf } from './edits';
import { changedKeys, FieldFlashes } from './flash';
import { JobActions } from './jobs';
import { EDIT_DEBOUNCE_MS, SAVED_CHIP_MS, SavePipeline } from './saving';
import { applyChanges, applyCreated, applyDeleted, applyOrder, applySnapshot, applyVideo, type Patch } from './timeline';
import { UploadActions } from './uploads';
import { VideoActions } from './video';

export interface StoreOptions {
  project: string;
  client: WorkspaceClient;
  /** Default form of a new card. */
  newCardForm?: Record<string, unknown>;
  debounceMs?: number;
  /** How long "Saved" stays (SAVED_CHIP_MS). */
  savedChipMs?: number;
  now?: () => number;
  /** The tab's token, read for the role it shows (PROTOCOL.md 9.1; default: the one kept in sessionStorage). */
  token?: () => string | null;
}

const DEFAULT_FORM = { duration_s: 5, aspect_ratio: '16:9' };

export class TimelineStore {
  private readonly cell: StateCell;
  private readonly client: WorkspaceClient;
  private readonly newCardForm: Record<string, unknown>;
  private readonly unsubscribe: Array<() => void> = [];
  private readonly saving: SavePipeline;
  private readonly uploads: UploadActions;
  private readonly video: VideoActions;
  private readonly ai: AiActions;
  private readonly flashes: FieldFlashes;
  /** Presence, the history drawer and undo (PROTOCOL.md 10). */
  readonly collab: Collab;
  /** The project's jobs: list, start, cancel (PROTOCOL.md 8). */
  readonly jobs: JobActions;
  /** Storyboard, film and export with the export dialog's settings (PROTOCOL.md 8.3). */
  readonly film: FilmActions;
  /** A reorder happened since the last snapshot: our order_index values may be stale. */
  private orderIndexStale = false;
  private readonly token: () => string | null;

  constructor(options: StoreOptions) {
    this.client = options.client;
    this.newCardForm = options.newCardForm ?? DEFAULT_FORM;
    const now = options.now ?? (() => Date.now());
    this.token = options.token ?? getToken;
    this.cell = new StateCell(initialState(options.project, accessOf(this.token()), this.client.status));
    this.saving = new SavePipeline(this.cell, this.client, {
      debounceMs: options.debounceMs ?? EDIT_DEBOUNCE_MS,
      savedChipMs: options.savedChipMs ?? SAVED_CHIP_MS,
      now,
      onNotFound: (id) => this.forget(id),
      onSaved: (id, before, after, at) => this.collab.saved(id, before, after, at),
    });
    this.uploads = new UploadActions(this.cell);
    this.video = new VideoActions(this.cell, this.client, this.saving);
    this.ai = new AiActions(this.cell, this.client, this.saving, now);
    this.flashes = new FieldFlashes((flashes) => this.cell.set({ flashes }));
    this.collab = new Collab(this.cell, this.client, this.saving, { readOnly: () => this.readOnly(), now });
    this.jobs = new JobActions(this.cell, this.client, { readOnly: () => this.readOnly(), flush: (id) => this.saving.flush(id) });
    this.film = new FilmActions(this.cell, this.jobs);
  }

  // ---- store plumbing ---------------------------------------------------------------------------------

  getState = (): StoreState => this.cell.get();

  subscribe = (listener: () => void): (() => void) => this.cell.subscribe(listener);

  private get state(): StoreState {
    return this.cell.get();
  }

  private set(patch: Partial<StoreState>): void {
    this.cell.set(patch);
  }

  start(): void {
    this.unsubscribe.push(
      this.client.onStatus((status) => this.onStatus(status)),
      this.client.onSnapshot((workspaces) => this.onSnapshot(workspaces)),
      this.client.onMessage((message, own) => this.onMessage(message, own)),
      this.collab.attach(),
      this.jobs.attach(),
    );
    this.client.start();
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    this.saving.stop();
    this.flashes.stop();
    this.collab.stop();
    this.client.stop();
  }

  // ---- what the server says -----------------------------------------------------------------------------

  private onStatus(status: ConnectionStatus): void {
    this.set({ connection: status, needsToken: status.state === 'unauthorized' || this.state.needsToken });
    if (status.state === 'open') {
      this.set({ needsToken: false });
      this.saving.flushWaiting();
    }
  }

  private onSnapshot(workspaces: Workspace[]): void {
    this.orderIndexStale = false;
    this.cell.setTimeline(applySnapshot(this.state.timeline, workspaces));
  }

  private onMessage(message: ServerMessage, own: boolean): void {
    const t = this.state.timeline;
    switch (message.type) {
      case 'connection.ready':
        this.set({ features: message.features ?? [] });
        return;
      case 'workspace.created':
        if (own) return;
        if (this.orderIndexStale) {
          // Our order_index values predate a reorder: ask where the new card sits.
          this.reload();
        }
        this.cell.setTimeline(applyCreated(t, message.workspace));
        return;
      case 'workspace.updated': {
        const next = applyChanges(t, message.workspace_id, message.changes, message.version);
        this.cell.setTimeline(next);
        // Another tab's change of a field shown here (what the version rules let through) flashes it.
        if (!own) this.flashes.flash(message.workspace_id, changedKeys(t.byId[message.workspace_id], next.byId[message.workspace_id]));
        return;
      }
      case 'workspace.deleted':
        if (own) return;
        this.forget(message.workspace_id);
        return;
      case 'workspace.reordered':
        this.orderIndexStale = true;
        this.cell.setTimeline(applyOrder(t, message.order));
        return;
      case 'video.status_update':
        this.cell.setTimeline(applyVideo(t, message.workspace_id, message.video));
        return;
      case 'error':
        if (!own) this.set({ notice: message.code === 'forbidden' ? READ_ONLY : `Server: ${message.message}` });
        return;
      default:
        return;
    }
  }

  private reload(): void {
    this.client.reload().catch(() => {
      /* the next (re)connect reloads anyway */
    });
  }

  private forget(id: string): void {
    this.saving.forget(id);
    this.flashes.forget(id);
    this.collab.forget(id);
    const edits = { ...this.state.edits };
    delete edits[id];
    this.set({ timeline: applyDeleted(this.state.timeline, id), edits });
  }

  // ---- cards --------------------------------------------------------------------------------------------

  /** Add a card at `position` (index in the timeline; default: at the end). Works offline: sent on reconnect. */
  async create(position?: number): Promise<Workspace | undefined> {
    if (this.readOnly()) return undefined;
    const key = newMessageId('c');
    const at = position ?? this.state.timeline.order.length;
    this.set({ ghosts: [...this.state.ghosts, { key, position: at }] });
    try {
      const reply = await this.client.request({
        type: 'workspace.create',
        id: key,
        position: position ?? null,
        workspace: { form_data: { ...this.newCardForm } },
      });
      this.cell.setTimeline(applyCreated(this.state.timeline, reply.workspace, at));
      return reply.workspace;
    } catch (error) {
      this.set({ notice: `Could not add the shot: ${describe(error)}` });
      return undefined;
    } finally {
      this.set({ ghosts: this.state.ghosts.filter((g) => g.key !== key) });
    }
  }

  async remove(id: string): Promise<void> {
    if (this.readOnly()) return;
    const before = this.state.timeline;
    this.forget(id);
    try {
      await this.client.request({ type: 'workspace.delete', workspace_id: id });
    } catch (error) {
      this.cell.setTimeline(before);
      this.set({ notice: `Could not delete the shot: ${describe(error)}` });
      this.reload();
    }
  }

  /** Put the timeline in `order` (every id of the project). */
  async reorder(order: string[]): Promise<void> {
    if (this.readOnly()) return;
    this.orderIndexStale = true;
    this.cell.setTimeline(applyOrder(this.state.timeline, order));
    try {
      const reply = await this.client.request({ type: 'workspace.reorder', order });
      this.cell.setTimeline(applyOrder(this.state.timeline, reply.order));
    } catch (error) {
      this.set({ notice: `Could not reorder: ${describe(error)}` });
      this.reload();
    }
  }

  /** A card as it should be shown: the server's copy with this tab's unconfirmed edits on top. */
  view(id: string): Workspace | undefined {
    const server = this.state.timeline.byId[id];
    return server && viewOf(server, this.state.edits[id]);
  }

  // ---- edits (saving.ts) --------------------------------------------------------------------------------

  /** Record an edit; it is sent (only the changed fields) after `debounceMs` without further edits. */
  edit(id: string, patch: Patch): void {
    if (this.readOnly()) return;
    this.saving.edit(id, patch);
    this.collab.presence.typed(id);
  }

  /** Send the draft of a card now. */
  flush(id: string): Promise<void> {
    return this.saving.flush(id);
  }

  // ---- picture (uploads.ts) -----------------------------------------------------------------------------

  upload(id: string, file: File): Promise<void> {
    if (this.readOnly()) return Promise.resolve();
    return this.uploads.upload(id, file);
  }

  clearUploadError(id: string): void {
    this.uploads.clearUploadError(id);
  }

  // ---- video (video.ts) ---------------------------------------------------------------------------------

  generate(id: string): Promise<void> {
    if (this.readOnly()) return Promise.resolve();
    return this.video.generate(id);
  }

  cancel(id: string): Promise<void> {
    if (this.readOnly()) return Promise.resolve();
    return this.video.cancel(id);
  }

  // ---- AI (ai.ts) ---------------------------------------------------------------------------------------

  /** Ask the AI about a card; with `apply`, the answer carries a `form_data_patch` the user can apply. */
  ask(id: string, message: string, apply: boolean): Promise<void> {
    if (this.readOnly()) return Promise.resolve();
    return this.ai.ask(id, message, apply);
  }

  /** Send an AI suggestion's `form_data_patch` as a normal update. */
  applySuggestion(id: string, formDataPatch: Record<string, unknown>): Promise<void> {
    if (this.readOnly()) return Promise.resolve();
    return this.ai.applySuggestion(id, formDataPatch);
  }

  // ---- connection and page ------------------------------------------------------------------------------

  setToken(token: string): void {
    storeToken(token);
    this.set({ needsToken: false, access: accessOf(token) });
    this.collab.presence.identityChanged();
    this.client.reconnectNow();
  }

  reconnectNow(): void {
    this.client.reconnectNow();
  }

  dismissNotice(): void {
    this.set({ notice: null });
  }

  /** A viewer's token (PROTOCOL.md 9.1): the UI offers no changes, and an action asked for anyway is not sent. */
  private readOnly(): boolean {
    if (canEdit(this.state.access)) return false;
    this.set({ notice: READ_ONLY });
    return true;
  }
}
