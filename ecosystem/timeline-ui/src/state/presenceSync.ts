// This tab's side of presence (PROTOCOL.md 10.1): it sends `{name, color, workspace_id, field, typing}` on every
// connect and whenever the focus moves to another card or field, and keeps the store's `peers` from what the
// server says. Sending is throttled here too (at most one every PRESENCE_INTERVAL_MS, the latest state wins;
// the server forwards at most 10 a second anyway), and only to a server whose `connection.ready` lists the
// "presence" feature (a 1.0 server would answer `unknown_type`).
import type { ServerMessage, WorkspaceClient } from '../api';
import type { StateCell } from './cell';
import { identityOf } from './identity';
import { changed, fromReady, left, noPeers, rememberNames, type PresenceState } from './presence';
import { KeyedTimers } from './timers';

/** At most 5 presence updates a second from this tab. */
export const PRESENCE_INTERVAL_MS = 200;
/** "Typing" ends this long after the last keystroke. */
export const TYPING_MS = 2000;

/** Delivers at most one value per `ms`: the first at once, later ones at the end of the interval, latest wins. */
export class Throttle<T> {
  private last = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pending: { value: T } | undefined;

  constructor(
    private readonly ms: number,
    private readonly now: () => number,
    private readonly deliver: (value: T) => void,
  ) {}

  push(value: T): void {
    const wait = this.last + this.ms - this.now();
    if (wait <= 0 && this.timer === undefined) return this.fire(value);
    this.pending = { value };
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const pending = this.pending;
      this.pending = undefined;
      if (pending) this.fire(pending.value);
    }, Math.max(0, wait));
  }

  /** Forget the interval and anything waiting (a new connection starts afresh). */
  reset(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    this.last = -Infinity;
  }

  private fire(value: T): void {
    this.last = this.now();
    this.deliver(value);
  }
}

export interface PresenceOptions {
  intervalMs?: number;
  typingMs?: number;
  now?: () => number;
}

export class PresenceSync {
  private workspaceId: string | null = null;
  private field: string | null = null;
  private typing = false;
  private self: string | null = null;
  private enabled = false;
  /** The state last sent on this connection (JSON), so an unchanged one is not sent again. */
  private lastSent: string | null = null;
  private readonly throttle: Throttle<PresenceState>;
  private readonly timers = new KeyedTimers();
  private readonly typingMs: number;

  constructor(
    private readonly cell: StateCell,
    private readonly client: WorkspaceClient,
    options: PresenceOptions = {},
  ) {
    const now = options.now ?? (() => Date.now());
    this.typingMs = options.typingMs ?? TYPING_MS;
    this.throttle = new Throttle(options.intervalMs ?? PRESENCE_INTERVAL_MS, now, (state) => this.deliver(state));
  }

  /** Listen to the client; returns the unsubscribe. */
  attach(): () => void {
    const offMessage = this.client.onMessage((message) => this.onMessage(message));
    const offStatus = this.client.onStatus((status) => {
      if (status.state === 'open') return;
      // Gone from the server: what we knew of the others is stale until connection.ready says it again.
      this.lastSent = null;
      this.throttle.reset();
      if (this.cell.get().peers !== noPeers) this.cell.set({ peers: noPeers });
    });
    return () => {
      offMessage();
      offStatus();
    };
  }

  /** The card and field this tab is on now. */
  get where(): { workspaceId: string | null; field: string | null } {
    return { workspaceId: this.workspaceId, field: this.field };
  }

  /** The user is on card `workspaceId` (null: on none), in `field` (null: in none of its fields). */
  focus(workspaceId: string | null, field: string | null): void {
    const fieldNow = workspaceId ? field : null;
    if (workspaceId === this.workspaceId && fieldNow === this.field) return;
    this.workspaceId = workspaceId;
    this.field = fieldNow;
    this.typing = false;
    this.timers.clear('typing');
    this.push();
  }

  /** A keystroke (an edit) on card `workspaceId`: "typing" while it is the card in focus. */
  typed(workspaceId: string): void {
    if (workspaceId !== this.workspaceId || !this.field) return;
    this.timers.set('typing', this.typingMs, () => {
      this.typing = false;
      this.push();
    });
    if (this.typing) return;
    this.typing = true;
    this.push();
  }

  /** The token changed (its `sub` is the name): tell the others. */
  identityChanged(): void {
    this.push();
  }

  stop(): void {
    this.throttle.reset();
    this.timers.clearAll();
  }

  /** What this tab looks like to the others now. */
  state(): PresenceState {
    const { name, color } = identityOf(this.cell.get().access);
    return { name, color, workspace_id: this.workspaceId, field: this.field, typing: this.typing };
  }

  private push(): void {
    const state = this.state();
    const me = this.cell.get().me;
    if (me.name !== state.name || me.color !== state.color) this.cell.set({ me: { name: state.name, color: state.color } });
    if (this.enabled && this.client.connected) this.throttle.push(state);
  }

  private deliver(state: PresenceState): void {
    const json = JSON.stringify(state);
    if (json === this.lastSent) return;
    if (this.client.send({ type: 'presence.update', state: { ...state } })) this.lastSent = json;
  }

  private onMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'connection.ready': {
        this.self = message.connection_id;
        this.enabled = (message.features ?? []).includes('presence');
        const peers = fromReady(message.presence, this.self);
        const names = { ...rememberNames(this.cell.get().peerNames, peers), [this.self]: 'You' };
        this.cell.set({ peers, peerNames: names });
        this.lastSent = null;
        this.throttle.reset();
        this.push();
        return;
      }
      case 'presence.changed': {
        const peers = changed(this.cell.get().peers, message.connection_id, message.state, this.self);
        this.cell.set({ peers, peerNames: rememberNames(this.cell.get().peerNames, peers) });
        return;
      }
      case 'presence.left': {
        const peers = left(this.cell.get().peers, message.connection_id);
        if (peers !== this.cell.get().peers) this.cell.set({ peers });
        return;
      }
      default:
        return;
    }
  }
}
