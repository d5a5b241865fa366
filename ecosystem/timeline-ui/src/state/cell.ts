// The store's state and its listeners: one immutable StoreState replaced on every change, read by React with
// useSyncExternalStore (useTimeline.tsx). The action modules (saving, video, uploads, AI, jobs, film) write through it.
import type { Access, ConnectionStatus } from '../api';
import { initialFilm } from './film';
import { identityOf } from './identity';
import { noJobs } from './jobs';
import { noPeers } from './presence';
import { emptyTimeline } from './timeline';
import type { AiState } from './ai';
import type { CardEdits } from './edits';
import type { FilmState } from './film';
import type { Flashes } from './flash';
import type { HistoryList } from './history';
import type { Identity } from './identity';
import type { JobsState } from './jobs';
import type { Peers } from './presence';
import type { Timeline } from './timeline';
import type { UploadState } from './uploads';

/** A card this tab asked for that the server has not confirmed yet. */
export interface Ghost {
  key: string;
  position: number;
}

export interface StoreState {
  project: string;
  /** What the tab's token lets it do (role, `sub`, `exp`), for display: the server enforces it. */
  access: Access;
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
  /** What `connection.ready` says the server supports beyond 1.0 (`presence`, `history`, `jobs`). */
  features: readonly string[];
  /** How this tab shows to the others (PROTOCOL.md 10.1). */
  me: Identity;
  /** The project's other connections, by connection id (presence.ts). */
  peers: Peers;
  /** Names of connections seen, this tab's own as "You" (for the "who" of history entries). */
  peerNames: Readonly<Record<string, string>>;
  /** Per card, its history as far as loaded (history.ts); `historyFor`: the card whose drawer is open. */
  history: Record<string, HistoryList>;
  historyFor: string | null;
  /** How many steps this tab can undo and redo (undo.ts). */
  undo: { undo: number; redo: number };
  /** The project's jobs (PROTOCOL.md 8) and this tab's start and cancel requests (jobs.ts). */
  jobs: JobsState;
  /** The export settings and the music track of the film (film.ts). */
  film: FilmState;
}

/** A tab's state before it heard from the server. */
export function initialState(project: string, access: Access, connection: ConnectionStatus): StoreState {
  return {
    project,
    access,
    connection,
    timeline: emptyTimeline,
    edits: {},
    ghosts: [],
    ai: {},
    uploads: {},
    videoErrors: {},
    notice: null,
    needsToken: false,
    flashes: {},
    features: [],
    me: identityOf(access),
    peers: noPeers,
    peerNames: {},
    history: {},
    historyFor: null,
    undo: { undo: 0, redo: 0 },
    jobs: noJobs,
    film: initialFilm,
  };
}

/** The parts of the state kept per card id. */
export type PerCard = 'edits' | 'ai' | 'uploads' | 'videoErrors' | 'history';

export class StateCell {
  private state: StoreState;
  private readonly listeners = new Set<() => void>();

  constructor(initial: StoreState) {
    this.state = initial;
  }

  get = (): StoreState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  set(patch: Partial<StoreState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of [...this.listeners]) listener();
  }

  setTimeline(timeline: Timeline): void {
    if (timeline !== this.state.timeline) this.set({ timeline });
  }

  /** Set (or, with `undefined`, remove) the entry of card `id` in one of the per-card records. */
  setCard<K extends PerCard>(key: K, id: string, value: StoreState[K][string] | undefined): void {
    const all = { ...this.state[key] } as Record<string, StoreState[K][string]>;
    if (value === undefined) delete all[id];
    else all[id] = value;
    this.set({ [key]: all });
  }
}
