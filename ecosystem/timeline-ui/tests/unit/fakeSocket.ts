import type { ServerMessage, SocketLike, Workspace } from '../../src/api';

/** A message the client sent, as parsed JSON. */
export type SentMessage = Record<string, unknown> & { type: string; id: string };

/** A WebSocket the test drives: it records what the client sends and plays the server's part. */
export class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  static get last(): FakeSocket {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }
  static reset(): void {
    FakeSocket.all = [];
  }

  readyState = 0;
  sent: SentMessage[] = [];
  closedByClient: number | undefined;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason?: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(data) as SentMessage);
  }

  close(code = 1000): void {
    this.closedByClient = code;
    this.readyState = 3;
  }

  // ---- the server's side ----

  /** Accept the connection and say `connection.ready`. */
  accept(connectionId = 'c_1'): void {
    this.readyState = 1;
    this.onopen?.({});
    this.push({ type: 'connection.ready', connection_id: connectionId, project: 'p', protocol: 1, server_time: 'now' });
  }

  push(message: ServerMessage | Record<string, unknown>): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  /** The connection drops (or the server closes it with `code`). */
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code });
  }

  sentOfType(type: string): SentMessage[] {
    return this.sent.filter((m) => m.type === type);
  }

  /** Answer the last `workspace.list` with these workspaces. */
  answerList(workspaces: Workspace[] = []): void {
    const list = this.sentOfType('workspace.list').at(-1);
    if (!list) throw new Error('no workspace.list was sent');
    this.push({ type: 'workspace.list_result', reply_to: list.id, workspaces });
  }
}

export function workspace(id: string, fields: Partial<Workspace> = {}): Workspace {
  return {
    id,
    project: 'p',
    order_index: 0,
    title: '',
    image_path: null,
    image_url: null,
    form_data: {},
    video: { status: 'idle', progress: 0, provider: null, task_id: null, url: null, source_url: null, error: null, updated_at: null },
    ai_collaboration: [],
    narration_audio: null,
    version: 1,
    created_at: '2026-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    ...fields,
  };
}
