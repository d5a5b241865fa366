// Another tab's change of a shown field flashes it for FLASH_MS (issue 15 item 13).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkspaceClient } from '../../src/api';
import { changedKeys, FLASH_MS, TimelineStore } from '../../src/state';
import { FieldFlashes } from '../../src/state/flash';
import { FakeSocket, workspace } from './fakeSocket';

const A = 'a'.repeat(24);
const B = 'b'.repeat(24);

describe('changedKeys', () => {
  const before = workspace(A, { title: 'Ridge', form_data: { prompt: 'p', camera_movement: 'static', duration_s: 5, extra: { a: [1] } } });

  it('names the title and the form keys whose value differs, added and removed ones included', () => {
    const after = workspace(A, { title: 'Ridge at sunset', form_data: { prompt: 'p', camera_movement: 'pan_left', lighting: 'soft', extra: { a: [1] } } });
    expect(changedKeys(before, after).sort()).toEqual(['form_data.camera_movement', 'form_data.duration_s', 'form_data.lighting', 'title']);
  });

  it('is empty for equal values (deep), for the same object and for an unknown card', () => {
    const same = workspace(A, { title: 'Ridge', form_data: { extra: { a: [1] }, duration_s: 5, camera_movement: 'static', prompt: 'p' }, version: 7 });
    expect(changedKeys(before, same)).toEqual([]);
    expect(changedKeys(before, before)).toEqual([]);
    expect(changedKeys(undefined, before)).toEqual([]);
    expect(changedKeys(before, workspace(A, { ...before, form_data: { ...before.form_data, extra: { a: [2] } } }))).toEqual(['form_data.extra']);
  });

  it('ignores fields the form does not show (video, AI, picture, version)', () => {
    const after = { ...before, version: 9, image_url: '/uploads/x.png', ai_collaboration: [{ role: 'user' as const, content: 'hi', provider: null, model: null, created_at: 'now' }] };
    expect(changedKeys(before, after)).toEqual([]);
  });
});

describe('flashes in the store', () => {
  let store: TimelineStore;

  async function startStore() {
    const client = new WorkspaceClient({ url: () => 'ws://test/ws', createSocket: (url) => new FakeSocket(url), random: () => 0.5 });
    store = new TimelineStore({ project: 'p', client });
    store.start();
    FakeSocket.last.accept();
    FakeSocket.last.answerList([workspace(A, { form_data: { camera_movement: 'static', prompt: 'same' } }), workspace(B)]);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    return FakeSocket.last;
  }

  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.reset();
  });

  afterEach(() => {
    store?.stop();
    vi.useRealTimers();
  });

  it('flashes what another tab changed for FLASH_MS, not the fields it sent unchanged', async () => {
    const socket = await startStore();
    socket.push({
      type: 'workspace.updated',
      workspace_id: A,
      changes: { title: 'From B', form_data: { camera_movement: 'pan_left', prompt: 'same' } },
      version: 2,
      updated_at: 'now',
    });
    expect(store.getState().flashes[A]).toEqual(['title', 'form_data.camera_movement']);
    expect(store.getState().flashes[B]).toBeUndefined();
    vi.advanceTimersByTime(FLASH_MS - 1);
    expect(store.getState().flashes[A]).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(store.getState().flashes[A]).toBeUndefined();
  });

  it('does not flash a stale event the version rules drop, nor this tab’s own confirmed update', async () => {
    const socket = await startStore();
    socket.push({ type: 'workspace.updated', workspace_id: A, changes: { form_data: { lighting: 'soft' } }, version: 5, updated_at: 'now' });
    vi.advanceTimersByTime(FLASH_MS);
    socket.push({ type: 'workspace.updated', workspace_id: A, changes: { form_data: { lighting: 'hard' } }, version: 4, updated_at: 'now' });
    expect(store.getState().flashes[A]).toBeUndefined();
    expect(store.view(A)!.form_data.lighting).toBe('soft');

    store.edit(A, { form_data: { camera_movement: 'tilt_up' } });
    vi.advanceTimersByTime(300);
    const update = socket.sentOfType('workspace.update').at(-1)!;
    socket.push({ type: 'workspace.sync_confirm', reply_to: update.id, workspace_id: A, version: 6, updated_at: 'now' });
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(store.getState().timeline.byId[A].form_data.camera_movement).toBe('tilt_up');
    expect(store.getState().flashes[A]).toBeUndefined();
  });

  it('a deleted card stops flashing and stop() leaves no timer', async () => {
    const socket = await startStore();
    socket.push({ type: 'workspace.updated', workspace_id: A, changes: { title: 'x' }, version: 2, updated_at: 'now' });
    socket.push({ type: 'workspace.deleted', workspace_id: A });
    expect(store.getState().flashes[A]).toBeUndefined();
    socket.push({ type: 'workspace.updated', workspace_id: B, changes: { title: 'y' }, version: 2, updated_at: 'now' });
    store.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('FieldFlashes', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('a key changed again keeps flashing FLASH_MS after its last change', () => {
    const seen: Array<Record<string, readonly string[]>> = [];
    const flashes = new FieldFlashes((f) => seen.push(f));
    flashes.flash(A, ['title']);
    vi.advanceTimersByTime(1000);
    flashes.flash(A, ['title', 'form_data.prompt']);
    expect(flashes.current[A]).toEqual(['title', 'form_data.prompt']);
    vi.advanceTimersByTime(FLASH_MS - 1);
    expect(flashes.current[A]).toEqual(['title', 'form_data.prompt']);
    vi.advanceTimersByTime(1);
    expect(flashes.current[A]).toBeUndefined();
    expect(seen[0]).toEqual({ [A]: ['title'] });
    expect(seen.at(-1)).toEqual({});
  });
});
