import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, RequestError, WorkspaceClient, type ConnectionStatus, type ServerMessage } from '../../src/api';
import { FakeSocket, workspace } from './fakeSocket';

let ids = 0;
let client: WorkspaceClient;
let statuses: ConnectionStatus[];

function makeClient(options: Partial<ConstructorParameters<typeof WorkspaceClient>[0]> = {}) {
  client = new WorkspaceClient({
    url: () => 'ws://test/ws?project=p',
    createSocket: (url) => new FakeSocket(url),
    random: () => 0.5,
    newId: () => `m${++ids}`,
    ...options,
  });
  statuses = [];
  client.onStatus((s) => statuses.push(s));
  return client;
}

/** Let promise callbacks run. */
async function settle() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

/** Start, accept, answer the initial list. */
function connect(c = client, workspaces = [workspace('a'.repeat(24))]) {
  c.start();
  FakeSocket.last.accept();
  FakeSocket.last.answerList(workspaces);
  return FakeSocket.last;
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.reset();
  ids = 0;
});

afterEach(() => {
  client?.stop();
  vi.useRealTimers();
});

describe('requests', () => {
  it('sends a message with an id and resolves with the reply that carries it', async () => {
    makeClient();
    const socket = connect();
    const reply = client.request({ type: 'workspace.delete', workspace_id: 'w1' });
    const sent = socket.sentOfType('workspace.delete')[0];
    expect(sent).toMatchObject({ type: 'workspace.delete', workspace_id: 'w1' });
    expect(typeof sent.id).toBe('string');
    socket.push({ type: 'workspace.deleted', reply_to: sent.id, workspace_id: 'w1', existed: true });
    await expect(reply).resolves.toMatchObject({ type: 'workspace.deleted', existed: true });
    expect(client.pendingCount).toBe(0);
  });

  it('keeps a caller-chosen id (creates are idempotent by id)', () => {
    makeClient();
    const socket = connect();
    client.request({ type: 'workspace.create', id: 'create-1' }).catch(() => undefined);
    expect(socket.sentOfType('workspace.create')[0].id).toBe('create-1');
  });

  it('re-sends with the same id after the 5 s confirmation timeout, and settles once', async () => {
    makeClient();
    const socket = connect();
    const reply = client.request({ type: 'workspace.create', id: 'c1', workspace: { title: 'x' } });
    expect(socket.sentOfType('workspace.create')).toHaveLength(1);
    vi.advanceTimersByTime(4_999);
    expect(socket.sentOfType('workspace.create')).toHaveLength(1);
    vi.advanceTimersByTime(1);
    const creates = socket.sentOfType('workspace.create');
    expect(creates).toHaveLength(2);
    expect(creates[1]).toEqual(creates[0]);
    const created = { type: 'workspace.created', reply_to: 'c1', workspace: workspace('b'.repeat(24)) };
    socket.push(created);
    socket.push(created); // the answer to the re-sent copy
    await expect(reply).resolves.toMatchObject({ workspace: { id: 'b'.repeat(24) } });
    vi.advanceTimersByTime(20_000);
    expect(socket.sentOfType('workspace.create')).toHaveLength(2);
  });

  it('fails with `timeout` after three unanswered tries', async () => {
    makeClient();
    const socket = connect();
    const reply = client.request({ type: 'workspace.update', workspace_id: 'w', updates: { title: 't' } });
    const caught = reply.catch((e: unknown) => e);
    vi.advanceTimersByTime(15_000);
    expect(socket.sentOfType('workspace.update')).toHaveLength(3);
    const error = await caught;
    expect(error).toBeInstanceOf(RequestError);
    expect((error as RequestError).code).toBe('timeout');
    expect(client.pendingCount).toBe(0);
  });

  it('rejects with the server error code, message and details', async () => {
    makeClient();
    const socket = connect();
    const reply = client.request({ type: 'workspace.update', workspace_id: 'w', updates: { form_data: { duration_s: 99 } } });
    const id = socket.sentOfType('workspace.update')[0].id;
    socket.push({
      type: 'error',
      reply_to: id,
      code: 'invalid_message',
      message: 'updates.form_data.duration_s: must be between 1 and 30',
      details: [{ loc: ['updates', 'form_data', 'duration_s'], msg: '...' }],
    });
    await expect(reply).rejects.toMatchObject({ code: 'invalid_message', message: expect.stringContaining('duration_s') });
  });

  it('sends again after a `rate_limited` error instead of failing', async () => {
    makeClient();
    const socket = connect();
    const reply = client.request({ type: 'workspace.update', workspace_id: 'w', updates: { title: 't' } });
    const id = socket.sentOfType('workspace.update')[0].id;
    socket.push({ type: 'error', reply_to: id, code: 'rate_limited', message: 'slow down' });
    vi.advanceTimersByTime(2_000);
    expect(socket.sentOfType('workspace.update')).toHaveLength(2);
    socket.push({ type: 'workspace.sync_confirm', reply_to: id, workspace_id: 'w', version: 2, updated_at: 'now' });
    await expect(reply).resolves.toMatchObject({ version: 2 });
  });

  it('passes partial replies (ai.delta) to onPartial and keeps a streamed answer alive', async () => {
    makeClient();
    const socket = connect();
    const deltas: string[] = [];
    const reply = client.request(
      { type: 'ai.suggest', workspace_id: 'w', message: 'help', apply: true },
      { onPartial: (m: ServerMessage) => m.type === 'ai.delta' && deltas.push(m.delta) },
    );
    const id = socket.sentOfType('ai.suggest')[0].id;
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(50_000); // longer than nothing-received would allow in total, but never idle 60 s
      socket.push({ type: 'ai.delta', reply_to: id, workspace_id: 'w', delta: `d${i} ` });
    }
    socket.push({
      type: 'ai.suggestion',
      reply_to: id,
      workspace_id: 'w',
      suggestion: {
        role: 'assistant',
        content: 'd0 d1',
        provider: 'offline',
        model: 'm',
        created_at: 'now',
        form_data_patch: { lighting: 'soft' },
      },
    });
    await expect(reply).resolves.toMatchObject({ suggestion: { form_data_patch: { lighting: 'soft' } } });
    expect(deltas).toEqual(['d0 ', 'd1 ', 'd2 ', 'd3 ', 'd4 ']);
    expect(socket.sentOfType('ai.suggest')).toHaveLength(1); // never re-sent: it would ask twice
  });

  it('reports events of other tabs as not own and replies as own', () => {
    makeClient();
    const socket = connect();
    const seen: Array<[string, boolean]> = [];
    client.onMessage((m, own) => seen.push([m.type, own]));
    socket.push({ type: 'workspace.deleted', workspace_id: 'w' });
    client.request({ type: 'ping' }).catch(() => undefined);
    socket.push({ type: 'pong', reply_to: socket.sentOfType('ping')[0].id, server_time: 'now' });
    expect(seen).toEqual([
      ['workspace.deleted', false],
      ['pong', true],
    ]);
  });
});

describe('offline and reconnect', () => {
  it('lists the workspaces first on every connect and hands them to onSnapshot', async () => {
    makeClient();
    const snapshots: string[][] = [];
    client.onSnapshot((ws) => snapshots.push(ws.map((w) => w.id)));
    client.start();
    const socket = FakeSocket.last;
    expect(socket.url).toBe('ws://test/ws?project=p');
    expect(socket.sent).toEqual([]);
    socket.accept();
    expect(socket.sent.map((m) => m.type)).toEqual(['workspace.list']);
    socket.answerList([workspace('a'.repeat(24))]);
    await settle();
    expect(snapshots).toEqual([['a'.repeat(24)]]);
    socket.drop();
    vi.runOnlyPendingTimers();
    FakeSocket.last.accept();
    FakeSocket.last.answerList([]);
    await settle();
    expect(snapshots).toEqual([['a'.repeat(24)], []]);
  });

  it('queues requests made offline and sends them in order after the list on reconnect', async () => {
    makeClient();
    const first = connect();
    first.drop(1006);
    const a = client.request({ type: 'workspace.update', workspace_id: 'w', updates: { title: 'one' } });
    const b = client.request({ type: 'workspace.update', workspace_id: 'w', updates: { title: 'two' } });
    expect(first.sentOfType('workspace.update')).toHaveLength(0);
    vi.advanceTimersByTime(60_000); // no confirmation clock runs while nothing was sent
    expect(client.pendingCount).toBe(2);
    vi.runOnlyPendingTimers(); // the reconnect timer
    const second = FakeSocket.last;
    expect(second).not.toBe(first);
    second.accept();
    expect(second.sent.map((m) => [m.type, (m.updates as { title?: string } | undefined)?.title])).toEqual([
      ['workspace.list', undefined],
      ['workspace.update', 'one'],
      ['workspace.update', 'two'],
    ]);
    for (const m of second.sentOfType('workspace.update')) {
      second.push({ type: 'workspace.sync_confirm', reply_to: m.id, workspace_id: 'w', version: 3, updated_at: 'now' });
    }
    await expect(Promise.all([a, b])).resolves.toHaveLength(2);
  });

  it('re-sends what was in flight when the connection dropped, with the same id', () => {
    makeClient();
    const first = connect();
    client.request({ type: 'workspace.create', id: 'c-9', position: 0 }).catch(() => undefined);
    first.drop(1001);
    vi.runOnlyPendingTimers();
    FakeSocket.last.accept();
    expect(FakeSocket.last.sentOfType('workspace.create')).toEqual([{ type: 'workspace.create', id: 'c-9', position: 0 }]);
  });

  it('fails generate and AI requests offline instead of queueing them', async () => {
    makeClient();
    const socket = connect();
    const inFlight = client.request({ type: 'video.generate', workspace_id: 'w' });
    socket.drop();
    await expect(inFlight).rejects.toMatchObject({ code: 'disconnected' });
    await expect(client.request({ type: 'ai.suggest', workspace_id: 'w', message: 'hi' })).rejects.toMatchObject({ code: 'offline' });
    expect(client.pendingCount).toBe(0);
  });

  it('reconnects with exponential backoff and jitter, and starts over after a success', () => {
    const random = vi.fn(() => 1); // the upper end of the jitter
    makeClient({ random });
    connect();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      FakeSocket.last.drop(1006);
      const s = statuses.at(-1)!;
      expect(s.state).toBe('reconnecting');
      delays.push((s as { retryAt: number }).retryAt - Date.now());
      const before = FakeSocket.all.length;
      vi.advanceTimersByTime(delays[i] - 1);
      expect(FakeSocket.all.length).toBe(before);
      vi.advanceTimersByTime(1);
      expect(FakeSocket.all.length).toBe(before + 1);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000]);
    FakeSocket.last.accept();
    expect(statuses.at(-1)!.state).toBe('open');
    FakeSocket.last.drop(1006);
    expect((statuses.at(-1) as { retryAt: number }).retryAt - Date.now()).toBe(500);
  });

  it('keeps the jitter between half and all of the exponential delay', () => {
    const options = { initialMs: 500, maxMs: 15_000, factor: 2 };
    expect(backoffDelay(3, options, () => 0)).toBe(2000);
    expect(backoffDelay(3, options, () => 0.5)).toBe(3000);
    expect(backoffDelay(3, options, () => 1)).toBe(4000);
    expect(backoffDelay(50, options, () => 1)).toBe(15000);
  });

  it('stops on 1008 (bad token) until asked, then connects with the new URL', () => {
    let token = 'wrong';
    makeClient({ url: () => `ws://test/ws?project=p&token=${token}` });
    client.start();
    FakeSocket.last.drop(1008);
    expect(client.status.state).toBe('unauthorized');
    const count = FakeSocket.all.length;
    vi.advanceTimersByTime(120_000);
    expect(FakeSocket.all.length).toBe(count);
    token = 'right';
    client.reconnectNow();
    expect(FakeSocket.last.url).toBe('ws://test/ws?project=p&token=right');
    FakeSocket.last.accept();
    expect(client.status.state).toBe('open');
  });

  it('ignores a late message from a socket it already replaced', () => {
    makeClient();
    const first = connect();
    const seen: string[] = [];
    client.onMessage((m) => seen.push(m.type));
    const onmessage = first.onmessage;
    first.drop();
    onmessage?.({ data: JSON.stringify({ type: 'workspace.deleted', workspace_id: 'w' }) });
    expect(seen).toEqual([]);
  });
});
