// One WebSocket per tab (PROTOCOL.md 3): requests with ids, a pending map with a confirmation timeout and
// retry, reconnect with exponential backoff and jitter, and a fresh `workspace.list` on every (re)connect.
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff';
import { newMessageId } from './ids';
import { policyFor, TRANSIENT_ERRORS, type RequestPolicy } from './policy';
import {
  FINAL_REPLY,
  RequestError,
  type ClientMessage,
  type ErrorMessage,
  type ReplyOf,
  type RequestOf,
  type RequestType,
  type ServerMessage,
  type Workspace,
} from './protocol';

/** What the client needs of a WebSocket; the browser's `WebSocket` satisfies it, tests pass a fake. */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export type SocketFactory = (url: string) => SocketLike;

export type ConnectionStatus =
  | { state: 'connecting'; attempt: number }
  | { state: 'open'; connectionId: string; since: number }
  | { state: 'reconnecting'; attempt: number; retryAt: number; lastCode: number }
  | { state: 'unauthorized' }
  | { state: 'closed' };

export interface ClientOptions {
  /** The WebSocket URL, computed on every connect (the token may change between attempts). */
  url: () => string;
  createSocket?: SocketFactory;
  /** Confirmation timeout of retried requests (default 5000 ms). */
  confirmTimeoutMs?: number;
  /** Timeouts of one request on a live connection before it fails with `timeout` (default 3). */
  maxTimeouts?: number;
  backoff?: BackoffOptions;
  random?: () => number;
  newId?: () => string;
  now?: () => number;
}

export interface RequestOptions {
  /** Called with every reply to this request before the final one (e.g. `ai.delta`). */
  onPartial?: (message: ServerMessage) => void;
}

/** A message from the server; `own` when it answers a request of this client (it has our `reply_to`). */
export type MessageListener = (message: ServerMessage, own: boolean) => void;
export type SnapshotListener = (workspaces: Workspace[]) => void;
export type StatusListener = (status: ConnectionStatus) => void;

interface Pending {
  id: string;
  message: ClientMessage & { id: string };
  policy: RequestPolicy;
  final: string;
  timeouts: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The socket generation it was last written to (0: not written yet). */
  sentOn: number;
  onPartial?: (message: ServerMessage) => void;
  resolve: (message: ServerMessage) => void;
  reject: (error: RequestError) => void;
}

const OPEN = 1;
const CLOSE_POLICY_VIOLATION = 1008;

export class WorkspaceClient {
  private readonly options: Required<Omit<ClientOptions, 'createSocket'>> & { createSocket: SocketFactory };
  private socket: SocketLike | null = null;
  private generation = 0;
  private ready = false;
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = true;
  private readonly pending = new Map<string, Pending>();
  private readonly messageListeners = new Set<MessageListener>();
  private readonly snapshotListeners = new Set<SnapshotListener>();
  private readonly statusListeners = new Set<StatusListener>();
  private currentStatus: ConnectionStatus = { state: 'closed' };

  constructor(options: ClientOptions) {
    this.options = {
      createSocket: options.createSocket ?? ((url) => new WebSocket(url) as unknown as SocketLike),
      confirmTimeoutMs: 5_000,
      maxTimeouts: 3,
      backoff: DEFAULT_BACKOFF,
      random: Math.random,
      newId: () => newMessageId(),
      now: () => Date.now(),
      ...stripUndefined(options),
      url: options.url,
    };
  }

  // ---- public surface ------------------------------------------------------------------------------------

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  get connected(): boolean {
    return this.ready;
  }

  /** Messages waiting for their confirmation (sent or queued). */
  get pendingCount(): number {
    return this.pending.size;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.open();
  }

  /** Close for good: pending requests fail with `closed`. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const socket = this.socket;
    this.detach();
    socket?.close(1000, 'client closed');
    for (const p of [...this.pending.values()]) this.fail(p, new RequestError('closed', 'the client was closed'));
    this.setStatus({ state: 'closed' });
  }

  /** Connect now instead of waiting for the backoff (a "retry" button, the browser going online, a new token). */
  reconnectNow(): void {
    if (this.stopped) return this.start();
    if (this.socket && (this.ready || this.currentStatus.state === 'connecting')) return;
    clearTimeout(this.reconnectTimer);
    this.open();
  }

  onMessage(listener: MessageListener): () => void {
    this.messageListeners.add(listener);
    return () => this.messageListeners.delete(listener);
  }

  /** The workspaces of the project, after every (re)connect and every `reload()`. */
  onSnapshot(listener: SnapshotListener): () => void {
    this.snapshotListeners.add(listener);
    return () => this.snapshotListeners.delete(listener);
  }

  onStatus(listener: StatusListener): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /**
   * Send a message and resolve with its final reply (section 3.1), or reject with a `RequestError`.
   * Creates, updates, deletes, reorders and lists are kept while offline and re-sent with the same id after a
   * timeout or a reconnect (create is idempotent by id); generate, cancel and AI requests fail instead.
   */
  request<T extends RequestType>(
    message: RequestOf<T>,
    options: RequestOptions = {},
  ): Promise<ReplyOf[T]> {
    const id = message.id ?? this.options.newId();
    const policy = policyFor(message.type, this.options.confirmTimeoutMs);
    if (!this.ready && !policy.retry) {
      return Promise.reject(new RequestError('offline', 'not connected to the server'));
    }
    if (this.pending.has(id)) {
      return Promise.reject(new RequestError('invalid_message', `a request with id ${id} is already pending`));
    }
    return new Promise<ReplyOf[T]>((resolve, reject) => {
      const p: Pending = {
        id,
        message: { ...message, id } as ClientMessage & { id: string },
        policy,
        final: FINAL_REPLY[message.type],
        timeouts: 0,
        timer: undefined,
        sentOn: 0,
        onPartial: options.onPartial,
        resolve: resolve as (m: ServerMessage) => void,
        reject,
      };
      this.pending.set(id, p);
      if (this.ready) this.transmit(p);
    });
  }

  /**
   * Send a message that has no reply (`presence.update`, PROTOCOL.md 10.1) on the live connection; nothing is
   * queued or re-sent (the next connect sends the state of the moment). False when it was not sent.
   */
  send(message: ClientMessage): boolean {
    if (!this.socket || !this.ready) return false;
    try {
      this.socket.send(JSON.stringify(message));
      return true;
    } catch {
      return false; // the close event follows
    }
  }

  /** Ask for the whole timeline again; listeners of `onSnapshot` get it. */
  async reload(): Promise<Workspace[]> {
    const reply = await this.request({ type: 'workspace.list' });
    this.emitSnapshot(reply.workspaces);
    return reply.workspaces;
  }

  // ---- connection -----------------------------------------------------------------------------------------

  private open(): void {
    this.detach();
    const generation = ++this.generation;
    this.setStatus({ state: 'connecting', attempt: this.attempt });
    let socket: SocketLike;
    try {
      socket = this.options.createSocket(this.options.url());
    } catch {
      this.scheduleReconnect(1006);
      return;
    }
    this.socket = socket;
    socket.onmessage = (event) => {
      if (generation === this.generation) this.receive(event.data);
    };
    socket.onclose = (event) => {
      if (generation === this.generation) this.closed(event.code);
    };
    socket.onerror = () => {
      /* a close event follows */
    };
  }

  /** Forget the current socket (its late events are ignored by generation). */
  private detach(): void {
    if (!this.socket) return;
    const socket = this.socket;
    this.socket = null;
    this.ready = false;
    this.generation++;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onopen = null;
    socket.onerror = null;
    if (socket.readyState <= OPEN) socket.close(1000, 'reconnecting');
    this.pauseAll();
  }

  private closed(code: number): void {
    this.socket = null;
    this.ready = false;
    this.generation++;
    this.pauseAll();
    if (this.stopped) return;
    if (code === CLOSE_POLICY_VIOLATION) {
      // Wrong or missing token (or a refused Origin): retrying will not help until the user acts.
      this.setStatus({ state: 'unauthorized' });
      return;
    }
    this.scheduleReconnect(code);
  }

  private scheduleReconnect(code: number): void {
    const delay = backoffDelay(this.attempt, this.options.backoff, this.options.random);
    this.attempt++;
    this.setStatus({ state: 'reconnecting', attempt: this.attempt, retryAt: this.options.now() + delay, lastCode: code });
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  /** The socket went away: stop the clocks; fail what must not be re-sent, keep the rest for the next socket. */
  private pauseAll(): void {
    for (const p of [...this.pending.values()]) {
      clearTimeout(p.timer);
      p.timer = undefined;
      if (!p.policy.retry && p.sentOn !== 0) {
        this.fail(p, new RequestError('disconnected', 'the connection was lost before the server answered'));
      }
    }
  }

  private onReady(connectionId: string): void {
    this.ready = true;
    this.attempt = 0;
    this.setStatus({ state: 'open', connectionId, since: this.options.now() });
    // The state first, then everything that waited for a connection, in the order it was asked for.
    const queued = [...this.pending.values()];
    this.reload().catch(() => {
      /* a lost connection retries it */
    });
    for (const p of queued) this.transmit(p);
  }

  // ---- requests -------------------------------------------------------------------------------------------

  private transmit(p: Pending): void {
    if (!this.socket || !this.ready) return;
    try {
      this.socket.send(JSON.stringify(p.message));
    } catch {
      return; // the close event follows; the message stays pending
    }
    p.sentOn = this.generation;
    this.arm(p);
  }

  private arm(p: Pending): void {
    clearTimeout(p.timer);
    p.timer = setTimeout(() => this.timedOut(p), p.policy.timeoutMs);
  }

  private timedOut(p: Pending): void {
    p.timer = undefined;
    p.timeouts++;
    if (!p.policy.retry || p.timeouts >= this.options.maxTimeouts) {
      this.fail(p, new RequestError('timeout', `no answer from the server after ${p.timeouts} tries`));
      return;
    }
    this.transmit(p); // same id: the server answers a create it already made with the same workspace
  }

  private fail(p: Pending, error: RequestError): void {
    clearTimeout(p.timer);
    this.pending.delete(p.id);
    p.reject(error);
  }

  // ---- incoming -------------------------------------------------------------------------------------------

  private receive(data: unknown): void {
    if (typeof data !== 'string') return;
    let message: ServerMessage;
    try {
      message = JSON.parse(data) as ServerMessage;
    } catch {
      return;
    }
    if (!message || typeof message !== 'object' || typeof message.type !== 'string') return;
    if (message.type === 'connection.ready') {
      this.onReady(message.connection_id);
      this.emitMessage(message, false); // its `presence` and `features` (1.1) are for the store
      return;
    }
    const replyTo = message.reply_to ?? undefined;
    const p = replyTo === undefined ? undefined : this.pending.get(replyTo);
    if (p) this.settle(p, message);
    // Only the connection that sent a message gets replies with its id (section 3.1).
    this.emitMessage(message, replyTo !== undefined);
  }

  private settle(p: Pending, message: ServerMessage): void {
    if (message.type === 'error') {
      const error = message as ErrorMessage;
      if (p.policy.retry && TRANSIENT_ERRORS.has(error.code) && p.timeouts + 1 < this.options.maxTimeouts) {
        // Nothing was changed: send it again after a pause (counts as one of the allowed timeouts).
        p.timeouts++;
        clearTimeout(p.timer);
        p.timer = setTimeout(() => this.transmit(p), backoffDelay(p.timeouts, this.options.backoff, this.options.random));
        return;
      }
      this.fail(p, new RequestError(error.code, error.message, error.details));
      return;
    }
    if (message.type === p.final) {
      clearTimeout(p.timer);
      this.pending.delete(p.id);
      p.resolve(message);
      return;
    }
    p.onPartial?.(message);
    if (p.timer !== undefined) this.arm(p); // a streamed reply is alive: restart its clock
  }

  private emitMessage(message: ServerMessage, own: boolean): void {
    for (const listener of [...this.messageListeners]) listener(message, own);
  }

  private emitSnapshot(workspaces: Workspace[]): void {
    for (const listener of [...this.snapshotListeners]) listener(workspaces);
  }

  private setStatus(status: ConnectionStatus): void {
    this.currentStatus = status;
    for (const listener of [...this.statusListeners]) listener(status);
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
