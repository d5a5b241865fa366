// The timeline of one tab: the protocol client, the server's state as this tab knows it, and the local edits.
// React components read it with useSyncExternalStore (see useTimeline.ts) and call its actions.
import {
  HttpError,
  RequestError,
  WorkspaceClient,
  newMessageId,
  setToken as storeToken,
  uploadImage,
  type AiEntry,
  type ConnectionStatus,
  type ServerMessage,
  type Workspace,
} from '../api';
import { changedOnly, isEmpty, mergePatch, noEdits, viewOf, type CardEdits } from './edits';
import { changedKeys, FieldFlashes, type Flashes } from './flash';
import { KeyedTimers } from './timers';
import {
  applyChanges,
  applyCreated,
  applyDeleted,
  applyLocal,
  applyOrder,
  applySnapshot,
  applyVideo,
  appendAi,
  emptyTimeline,
  type Patch,
  type Timeline,
} from './timeline';

export const EDIT_DEBOUNCE_MS = 300;
/** How long the card's chip says "Saved" after a confirmation before it fades away. */
export const SAVED_CHIP_MS = 1600;

export interface AiState {
  busy: boolean;
  /** The answer as it streams in (`ai.delta`). */
  streaming: string;
  /** The question being answered. */
  question?: string;
  error?: string;
}

export interface UploadState {
  busy: boolean;
  /** 0..1 */
  progress: number;
  /** A local object URL of the picked file while it uploads. */
  preview?: string;
  error?: string;
}

/** A card this tab asked for that the server has not confirmed yet. */
export interface Ghost {
  key: string;
  position: number;
}

export interface StoreState {
  project: string;
  connection: ConnectionStatus;
  timeline: Timeline;
  edits: Record<string, CardEdits>;
  ghosts: Ghost[];
  ai: Record<string, AiState>;
  uploads: Record<string, UploadState>;
  /** Errors of generate / cancel requests, per card. */
  videoErrors: Record<string, string>;
  /** One line for the whole page (a failed reorder, a server error without a request). */
  notice: string | null;
  /** The server wants a token (WebSocket closed with 1008, or a REST 401). */
  needsToken: boolean;
  /** Per card, the fields (`title`, `form_data.<key>`) another tab changed a moment ago. */
  flashes: Flashes;
}

export interface StoreOptions {
  project: string;
  client: WorkspaceClient;
  /** Default form of a new card. */
  newCardForm?: Record<string, unknown>;
  debounceMs?: number;
  /** How long "Saved" stays (SAVED_CHIP_MS). */
  savedChipMs?: number;
  now?: () => number;
}

const DEFAULT_FORM = { duration_s: 5, aspect_ratio: '16:9' };

export class TimelineStore {
  private state: StoreState;
  private readonly listeners = new Set<() => void>();
  private readonly client: WorkspaceClient;
  private readonly debounce = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly unsubscribe: Array<() => void> = [];
  /** Per card: the timer that ends the "Saved" chip. */
  private readonly savedTimers = new KeyedTimers();
  private readonly flashes = new FieldFlashes((flashes) => this.set({ flashes }));
  /** A reorder happened since the last snapshot: our order_index values may be stale. */
  private orderIndexStale = false;
  private readonly options: Required<Omit<StoreOptions, 'client' | 'project'>>;

  constructor(options: StoreOptions) {
    this.client = options.client;
    this.options = {
      newCardForm: options.newCardForm ?? DEFAULT_FORM,
      debounceMs: options.debounceMs ?? EDIT_DEBOUNCE_MS,
      savedChipMs: options.savedChipMs ?? SAVED_CHIP_MS,
      now: options.now ?? (() => Date.now()),
    };
    this.state = {
      project: options.project,
      connection: this.client.status,
      timeline: emptyTimeline,
      edits: {},
      ghosts: [],
      ai: {},
      uploads: {},
      videoErrors: {},
      notice: null,
      needsToken: false,
      flashes: {},
    };
  }

  // ---- store plumbing ---------------------------------------------------------------------------------

  getState = (): StoreState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private set(patch: Partial<StoreState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of [...this.listeners]) listener();
  }

  private setTimeline(timeline: Timeline): void {
    if (timeline !== this.state.timeline) this.set({ timeline });
  }

  private setEdits(id: string, edits: CardEdits | undefined): void {
    const all = { ...this.state.edits };
    if (edits) all[id] = edits;
    else delete all[id];
    this.set({ edits: all });
  }

  start(): void {
    this.unsubscribe.push(
      this.client.onStatus((status) => this.onStatus(status)),
      this.client.onSnapshot((workspaces) => this.onSnapshot(workspaces)),
      this.client.onMessage((message, own) => this.onMessage(message, own)),
    );
    this.client.start();
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off();
    for (const timer of this.debounce.values()) clearTimeout(timer);
    this.debounce.clear();
    this.savedTimers.clearAll();
    this.flashes.stop();
    this.client.stop();
  }

  // ---- what the server says -----------------------------------------------------------------------------

  private onStatus(status: ConnectionStatus): void {
    this.set({ connection: status, needsToken: status.state === 'unauthorized' || this.state.needsToken });
    if (status.state === 'open') {
      this.set({ needsToken: false });
      // Drafts typed while offline whose debounce already ran (or failed) go out now.
      for (const [id, edits] of Object.entries(this.state.edits)) {
        if (!isEmpty(edits.draft) && !this.debounce.has(id)) this.flush(id);
      }
    }
  }

  private onSnapshot(workspaces: Workspace[]): void {
    this.orderIndexStale = false;
    this.setTimeline(applySnapshot(this.state.timeline, workspaces));
  }

  private onMessage(message: ServerMessage, own: boolean): void {
    const t = this.state.timeline;
    switch (message.type) {
      case 'workspace.created':
        if (own) return;
        if (this.orderIndexStale) {
          // Our order_index values predate a reorder: ask where the new card sits.
          this.reload();
        }
        this.setTimeline(applyCreated(t, message.workspace));
        return;
      case 'workspace.updated': {
        const next = applyChanges(t, message.workspace_id, message.changes, message.version);
        this.setTimeline(next);
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
        this.setTimeline(applyOrder(t, message.order));
        return;
      case 'video.status_update':
        this.setTimeline(applyVideo(t, message.workspace_id, message.video));
        return;
      case 'error':
        if (!own) this.set({ notice: `Server: ${message.message}` });
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
    clearTimeout(this.debounce.get(id));
    this.debounce.delete(id);
    this.savedTimers.clear(id);
    this.flashes.forget(id);
    const edits = { ...this.state.edits };
    delete edits[id];
    this.set({ timeline: applyDeleted(this.state.timeline, id), edits });
  }

  // ---- cards --------------------------------------------------------------------------------------------

  /** Add a card at `position` (index in the timeline; default: at the end). Works offline: sent on reconnect. */
  async create(position?: number): Promise<Workspace | undefined> {
    const key = newMessageId('c');
    const at = position ?? this.state.timeline.order.length;
    this.set({ ghosts: [...this.state.ghosts, { key, position: at }] });
    try {
      const reply = await this.client.request({
        type: 'workspace.create',
        id: key,
        position: position ?? null,
        workspace: { form_data: { ...this.options.newCardForm } },
      });
      this.setTimeline(applyCreated(this.state.timeline, reply.workspace, at));
      return reply.workspace;
    } catch (error) {
      this.set({ notice: `Could not add the shot: ${describe(error)}` });
      return undefined;
    } finally {
      this.set({ ghosts: this.state.ghosts.filter((g) => g.key !== key) });
    }
  }

  async remove(id: string): Promise<void> {
    const before = this.state.timeline;
    this.forget(id);
    try {
      await this.client.request({ type: 'workspace.delete', workspace_id: id });
    } catch (error) {
      this.setTimeline(before);
      this.set({ notice: `Could not delete the shot: ${describe(error)}` });
      this.reload();
    }
  }

  /** Put the timeline in `order` (every id of the project). */
  async reorder(order: string[]): Promise<void> {
    this.orderIndexStale = true;
    this.setTimeline(applyOrder(this.state.timeline, order));
    try {
      const reply = await this.client.request({ type: 'workspace.reorder', order });
      this.setTimeline(applyOrder(this.state.timeline, reply.order));
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

  /** Record an edit; it is sent (only the changed fields) after `debounceMs` without further edits. */
  edit(id: string, patch: Patch): void {
    const current = this.state.edits[id] ?? noEdits;
    this.savedTimers.clear(id);
    this.setEdits(id, { ...current, draft: mergePatch(current.draft, patch), error: undefined, savedAt: undefined });
    clearTimeout(this.debounce.get(id));
    this.debounce.set(
      id,
      setTimeout(() => {
        this.debounce.delete(id);
        this.flush(id);
      }, this.options.debounceMs),
    );
  }

  /** Send the draft of a card now. */
  flush(id: string): Promise<void> {
    clearTimeout(this.debounce.get(id));
    this.debounce.delete(id);
    const server = this.state.timeline.byId[id];
    const edits = this.state.edits[id];
    if (!server || !edits || isEmpty(edits.draft)) return Promise.resolve();
    const base = viewOf(server, { ...edits, draft: {} });
    const patch = changedOnly(base, edits.draft);
    if (isEmpty(patch)) {
      this.setEdits(id, { ...edits, draft: {} });
      return Promise.resolve();
    }
    const messageId = newMessageId('u');
    this.setEdits(id, { ...edits, draft: {}, inflight: [...edits.inflight, { messageId, patch }] });
    return this.client
      .request({ type: 'workspace.update', id: messageId, workspace_id: id, updates: patch })
      .then((confirm) => {
        this.setTimeline(applyChanges(this.state.timeline, id, patch as Record<string, unknown>, confirm.version));
        const now = this.state.edits[id];
        if (!now) return;
        const savedAt = this.options.now();
        this.setEdits(id, { ...now, inflight: now.inflight.filter((f) => f.messageId !== messageId), savedAt });
        this.savedTimers.set(id, this.options.savedChipMs, () => this.endSaved(id, savedAt));
      })
      .catch((error: unknown) => {
        const now = this.state.edits[id];
        if (!now) return;
        if (error instanceof RequestError && error.code === 'not_found') {
          this.forget(id);
          return;
        }
        const inflight = now.inflight.filter((f) => f.messageId !== messageId);
        const retryable = error instanceof RequestError && ['timeout', 'closed', 'unavailable', 'rate_limited'].includes(error.code);
        // Kept for the next attempt when the server may simply not have had it; dropped when it refused it.
        const draft = retryable ? mergePatch(patch, now.draft) : now.draft;
        this.setEdits(id, { ...now, inflight, draft, error: describe(error) });
      });
  }

  /** The "Saved" chip of a confirmation has been shown long enough (a newer save keeps its own). */
  private endSaved(id: string, savedAt: number): void {
    const now = this.state.edits[id];
    if (now?.savedAt === savedAt) this.setEdits(id, { ...now, savedAt: undefined });
  }

  // ---- picture ------------------------------------------------------------------------------------------

  async upload(id: string, file: File): Promise<void> {
    const previous = this.state.uploads[id];
    if (previous?.preview) URL.revokeObjectURL(previous.preview);
    const preview = typeof URL.createObjectURL === 'function' ? URL.createObjectURL(file) : undefined;
    const setUpload = (u: UploadState | undefined) => {
      const uploads = { ...this.state.uploads };
      if (u) uploads[id] = u;
      else delete uploads[id];
      this.set({ uploads });
    };
    setUpload({ busy: true, progress: 0, preview });
    try {
      const result = await uploadImage(file, {
        workspaceId: id,
        project: this.state.project,
        onProgress: (progress) => setUpload({ busy: true, progress, preview }),
      });
      this.setTimeline(applyLocal(this.state.timeline, id, { image_path: result.image_path, image_url: result.image_url }));
      setUpload({ busy: false, progress: 1, preview });
    } catch (error) {
      if (error instanceof HttpError && error.status === 401) this.set({ needsToken: true });
      setUpload({ busy: false, progress: 0, error: error instanceof Error ? error.message : String(error) });
      if (preview) URL.revokeObjectURL(preview);
    }
  }

  clearUploadError(id: string): void {
    const uploads = { ...this.state.uploads };
    delete uploads[id];
    this.set({ uploads });
  }

  // ---- video --------------------------------------------------------------------------------------------

  private setVideoError(id: string, message: string | undefined): void {
    const videoErrors = { ...this.state.videoErrors };
    if (message) videoErrors[id] = message;
    else delete videoErrors[id];
    this.set({ videoErrors });
  }

  async generate(id: string): Promise<void> {
    this.setVideoError(id, undefined);
    await this.flush(id).catch(() => undefined); // the prompt typed just now goes first
    try {
      const reply = await this.client.request({ type: 'video.generate', workspace_id: id });
      this.setTimeline(applyVideo(this.state.timeline, id, reply.video));
    } catch (error) {
      this.setVideoError(id, describe(error));
    }
  }

  async cancel(id: string): Promise<void> {
    this.setVideoError(id, undefined);
    try {
      const reply = await this.client.request({ type: 'video.cancel', workspace_id: id });
      this.setTimeline(applyVideo(this.state.timeline, id, reply.video));
    } catch (error) {
      this.setVideoError(id, describe(error));
    }
  }

  // ---- AI -----------------------------------------------------------------------------------------------

  private setAi(id: string, ai: AiState): void {
    this.set({ ai: { ...this.state.ai, [id]: ai } });
  }

  /** Ask the AI about a card; with `apply`, the answer carries a `form_data_patch` the user can apply. */
  async ask(id: string, message: string, apply: boolean): Promise<void> {
    const question = message.trim();
    if (!question) return;
    this.setAi(id, { busy: true, streaming: '', question });
    await this.flush(id).catch(() => undefined);
    const asked = new Date(this.options.now()).toISOString();
    try {
      const reply = await this.client.request(
        { type: 'ai.suggest', workspace_id: id, message: question, apply },
        {
          onPartial: (partial) => {
            if (partial.type !== 'ai.delta') return;
            const ai = this.state.ai[id];
            this.setAi(id, { ...ai, busy: true, streaming: (ai?.streaming ?? '') + partial.delta });
          },
        },
      );
      const user: AiEntry = { role: 'user', content: question, provider: null, model: null, created_at: asked };
      this.setTimeline(appendAi(this.state.timeline, id, [user, reply.suggestion]));
      this.setAi(id, { busy: false, streaming: '' });
    } catch (error) {
      this.setAi(id, { busy: false, streaming: '', question, error: describe(error) });
    }
  }

  /** Send an AI suggestion's `form_data_patch` as a normal update. */
  applySuggestion(id: string, formDataPatch: Record<string, unknown>): Promise<void> {
    this.edit(id, { form_data: formDataPatch });
    return this.flush(id);
  }

  // ---- connection and page ------------------------------------------------------------------------------

  setToken(token: string): void {
    storeToken(token);
    this.set({ needsToken: false });
    this.client.reconnectNow();
  }

  reconnectNow(): void {
    this.client.reconnectNow();
  }

  dismissNotice(): void {
    this.set({ notice: null });
  }
}

export function describe(error: unknown): string {
  if (error instanceof RequestError) {
    switch (error.code) {
      case 'offline':
        return 'You are offline: try again when the connection is back.';
      case 'timeout':
        return 'The server did not confirm in time.';
      case 'disconnected':
        return 'The connection dropped before the server answered.';
      default:
        return error.message;
    }
  }
  return error instanceof Error ? error.message : String(error);
}
