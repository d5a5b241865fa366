import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkspaceClient } from '../../src/api';
import { saveState, TimelineStore } from '../../src/state';
import { applyChanges, applySnapshot, emptyTimeline } from '../../src/state/timeline';
import { FakeSocket, workspace } from './fakeSocket';

const A = 'a'.repeat(24);
const B = 'b'.repeat(24);
const C = 'c'.repeat(24);

let store: TimelineStore;

async function settle() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

async function startStore(workspaces = [workspace(A, { form_data: { prompt: 'old', duration_s: 5 } })]) {
  const client = new WorkspaceClient({ url: () => 'ws://test/ws', createSocket: (url) => new FakeSocket(url), random: () => 0.5 });
  store = new TimelineStore({ project: 'p', client });
  store.start();
  FakeSocket.last.accept();
  FakeSocket.last.answerList(workspaces);
  await settle();
  return FakeSocket.last;
}

const save = (id = A) => saveState(store.getState().edits[id], store.getState().connection.state === 'open');

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.reset();
});

afterEach(() => {
  store?.stop();
  vi.useRealTimers();
});

describe('edits', () => {
  it('sends only the changed fields, once, 300 ms after the last keystroke: editing -> saving -> saved', async () => {
    const socket = await startStore();
    store.edit(A, { form_data: { prompt: 'a' } });
    vi.advanceTimersByTime(200);
    store.edit(A, { form_data: { prompt: 'a r' } });
    vi.advanceTimersByTime(200);
    store.edit(A, { form_data: { prompt: 'a red kite', duration_s: 5 } }); // duration unchanged: not sent
    expect(save()).toBe('editing');
    vi.advanceTimersByTime(299);
    expect(socket.sentOfType('workspace.update')).toHaveLength(0);
    vi.advanceTimersByTime(1);
    const updates = socket.sentOfType('workspace.update');
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({ workspace_id: A, updates: { form_data: { prompt: 'a red kite' } } });
    expect(save()).toBe('saving');
    expect(store.view(A)!.form_data.prompt).toBe('a red kite');
    socket.push({ type: 'workspace.sync_confirm', reply_to: updates[0].id, workspace_id: A, version: 2, updated_at: 'now' });
    await settle();
    expect(save()).toBe('saved');
    expect(store.getState().timeline.byId[A].form_data.prompt).toBe('a red kite');
    expect(store.getState().timeline.byId[A].version).toBe(2);
  });

  it('keeps an edit made offline, shows it as offline, and sends it after the reconnect', async () => {
    const first = await startStore();
    first.drop(1006);
    store.edit(A, { form_data: { prompt: 'typed offline' } });
    vi.advanceTimersByTime(300);
    expect(save()).toBe('offline');
    vi.advanceTimersByTime(400); // the reconnect timer (500 ms * jitter 0.5..1)
    const second = FakeSocket.last;
    expect(second).not.toBe(first);
    second.accept();
    expect(second.sent.map((m) => m.type)).toEqual(['workspace.list', 'workspace.update']);
    expect(save()).toBe('saving');
    second.answerList([workspace(A, { form_data: { prompt: 'old' }, version: 1 })]); // the server does not have it yet
    await settle();
    expect(store.view(A)!.form_data.prompt).toBe('typed offline'); // still shown
    const update = second.sentOfType('workspace.update')[0];
    second.push({ type: 'workspace.sync_confirm', reply_to: update.id, workspace_id: A, version: 2, updated_at: 'now' });
    await settle();
    expect(save()).toBe('saved');
    expect(store.getState().timeline.byId[A].form_data.prompt).toBe('typed offline');
  });

  it('shows an error and the stored value when the server refuses an update', async () => {
    const socket = await startStore();
    store.edit(A, { form_data: { aspect_ratio: '5:4' } });
    vi.advanceTimersByTime(300);
    const update = socket.sentOfType('workspace.update')[0];
    socket.push({ type: 'error', reply_to: update.id, code: 'invalid_message', message: 'updates.form_data.aspect_ratio: bad' });
    await settle();
    expect(save()).toBe('error');
    expect(store.getState().edits[A].error).toContain('aspect_ratio');
    expect(store.view(A)!.form_data.aspect_ratio).toBeUndefined();
  });

  it('sends an AI suggestion patch as a normal update', async () => {
    const socket = await startStore();
    void store.applySuggestion(A, { lighting: 'golden_hour', camera_movement: 'push_in' });
    expect(socket.sentOfType('workspace.update')[0]).toMatchObject({
      updates: { form_data: { lighting: 'golden_hour', camera_movement: 'push_in' } },
    });
  });
});

describe('events from other tabs', () => {
  it('applies created, updated, reordered, video and deleted events', async () => {
    const socket = await startStore([workspace(A, { order_index: 0 }), workspace(B, { order_index: 1024 })]);
    socket.push({ type: 'workspace.created', workspace: workspace(C, { order_index: 512 }) });
    expect(store.getState().timeline.order).toEqual([A, C, B]);
    socket.push({ type: 'workspace.updated', workspace_id: C, changes: { form_data: { prompt: 'from tab 2' } }, version: 2, updated_at: 'now' });
    expect(store.view(C)!.form_data.prompt).toBe('from tab 2');
    socket.push({ type: 'workspace.reordered', order: [B, A, C] });
    expect(store.getState().timeline.order).toEqual([B, A, C]);
    socket.push({
      type: 'video.status_update',
      workspace_id: B,
      video: { status: 'generating', progress: 40, provider: 'local', task_id: 't', url: null, source_url: null, error: null, updated_at: 'now' },
    });
    expect(store.view(B)!.video).toMatchObject({ status: 'generating', progress: 40 });
    socket.push({ type: 'workspace.deleted', workspace_id: A });
    expect(store.getState().timeline.order).toEqual([B, C]);
  });

  it('asks for the list again when a card is created after a reorder (order_index values changed)', async () => {
    const socket = await startStore([workspace(A, { order_index: 0 }), workspace(B, { order_index: 1024 })]);
    socket.push({ type: 'workspace.reordered', order: [B, A] });
    const lists = socket.sentOfType('workspace.list').length;
    socket.push({ type: 'workspace.created', workspace: workspace(C, { order_index: 2048 }) });
    expect(socket.sentOfType('workspace.list')).toHaveLength(lists + 1);
  });

  it('a text typed here stays on top of another tab’s change until it is confirmed', async () => {
    const socket = await startStore();
    store.edit(A, { form_data: { prompt: 'mine' } });
    socket.push({ type: 'workspace.updated', workspace_id: A, changes: { form_data: { prompt: 'theirs', lighting: 'soft' } }, version: 2, updated_at: 'now' });
    expect(store.view(A)!.form_data).toMatchObject({ prompt: 'mine', lighting: 'soft' });
  });
});

describe('timeline versions', () => {
  it('never lets an older version overwrite a field set by a newer one', () => {
    let t = applySnapshot(emptyTimeline, [workspace(A, { version: 1, form_data: { prompt: 'v1' } })]);
    t = applyChanges(t, A, { form_data: { prompt: 'v3' } }, 3);
    t = applyChanges(t, A, { form_data: { prompt: 'v2', lighting: 'soft' } }, 2); // a late confirmation
    expect(t.byId[A].form_data).toEqual({ prompt: 'v3', lighting: 'soft' });
    expect(t.byId[A].version).toBe(3);
    t = applyChanges(t, A, { form_data: { lighting: null } }, 4);
    expect(t.byId[A].form_data).toEqual({ prompt: 'v3' });
  });

  it('keeps a card from a snapshot older than what this tab already has', () => {
    let t = applySnapshot(emptyTimeline, [workspace(A, { version: 1 })]);
    t = applyChanges(t, A, { title: 'new' }, 5);
    t = applySnapshot(t, [workspace(A, { version: 4, title: 'old' }), workspace(B)]);
    expect(t.byId[A].title).toBe('new');
    expect(t.order).toEqual([A, B]);
  });
});
