// The history drawer (PROTOCOL.md 10.2, issue 16 item 2): paging with before_version, a fresh first page after a
// change, restore as a forward change applied through the normal update path, and undoing a restore.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HistoryEntry } from '../../src/api';
import { authorOf, describeChanges } from '../../src/components/changes';
import type { TimelineStore } from '../../src/state';
import { beforeVersion, emptyHistory, HISTORY_PAGE, newestPage, olderPage } from '../../src/state/history';
import { A, answer, confirmUpdate, settle, startStore } from './collabHarness';
import { FakeSocket, workspace } from './fakeSocket';

const entry = (version: number, changes: Record<string, unknown> = { title: `v${version}` }): HistoryEntry => ({
  version,
  changes,
  at: '2026-01-01T10:00:00Z',
  by: { connection_id: 'c_1', user: null },
});
const versions = (from: number, to: number) => Array.from({ length: from - to + 1 }, (_, i) => entry(from - i));

describe('history paging', () => {
  it('appends older pages, newest first, until a short page says it is all', () => {
    let list = olderPage({ ...emptyHistory, loading: true }, versions(30, 28), 3);
    expect(list.entries.map((e) => e.version)).toEqual([30, 29, 28]);
    expect(list).toMatchObject({ loading: false, done: false });
    expect(beforeVersion(list)).toBe(28);
    list = olderPage(list, [entry(28), ...versions(27, 27)], 3); // an overlap is kept once
    expect(list.entries.map((e) => e.version)).toEqual([30, 29, 28, 27]);
    expect(list.done).toBe(true);
    expect(beforeVersion(emptyHistory)).toBeUndefined();
  });

  it('puts a fresh first page on top of what is loaded, older pages kept', () => {
    const loaded = olderPage(emptyHistory, versions(10, 6), 5); // 10..6, more to come
    const fresh = newestPage(loaded, versions(12, 8), 5);
    expect(fresh.entries.map((e) => e.version)).toEqual([12, 11, 10, 9, 8, 7, 6]);
    expect(fresh.done).toBe(false);
    expect(newestPage(loaded, versions(11, 10), 5).done).toBe(true); // a short first page is everything there is
  });

  it('starts again from a full first page that does not reach what was loaded (a gap)', () => {
    const loaded = olderPage(emptyHistory, versions(10, 6), 5);
    const fresh = newestPage(loaded, versions(20, 16), 5);
    expect(fresh.entries.map((e) => e.version)).toEqual([20, 19, 18, 17, 16]);
    expect(fresh.done).toBe(false);
  });

  it('describes changes and who made them', () => {
    expect(describeChanges({ title: 'Harbour', form_data: { camera_movement: 'pan_left', lighting: null, duration_s: 5 } })).toBe(
      'Title “Harbour”; Camera “Pan left”; Lighting removed; Seconds 5',
    );
    expect(describeChanges({ image_path: 'uploads/x.png', image_url: '/uploads/x.png' })).toBe('Picture changed');
    expect(describeChanges({ form_data: { prompt: 'x'.repeat(100) } })).toMatch(/^Prompt “x{39}…”$/);
    expect(describeChanges({})).toBe('No field changed');
    const names = { c_me: 'You', c_1: 'Ana' };
    expect(authorOf({ connection_id: 'c_me', user: 'alice' }, names)).toBe('You');
    expect(authorOf({ connection_id: 'c_1', user: 'ana@example' }, names)).toBe('ana@example');
    expect(authorOf({ connection_id: 'c_1', user: null }, names)).toBe('Ana');
    expect(authorOf({ connection_id: 'c_9', user: null }, names)).toBe('Another tab');
    expect(authorOf({ connection_id: null, user: null }, names)).toMatch(/server/);
  });
});

describe('the history drawer in the store', () => {
  let store: TimelineStore;
  let socket: FakeSocket;

  beforeEach(async () => {
    vi.useFakeTimers();
    FakeSocket.reset();
    ({ store, socket } = await startStore([workspace(A, { title: 'Now', form_data: { prompt: 'current' }, version: 25 })]));
  });

  afterEach(() => {
    store?.stop();
    vi.useRealTimers();
  });

  const list = () => store.getState().history[A];

  it('loads the newest page on open, then older ones with before_version until the end', async () => {
    store.collab.history.open(A);
    expect(store.getState().historyFor).toBe(A);
    const first = answer(socket, 'workspace.history', { type: 'workspace.history_result', workspace_id: A, entries: versions(25, 6) });
    expect(first).toMatchObject({ workspace_id: A, limit: HISTORY_PAGE });
    expect('before_version' in first).toBe(false);
    await settle();
    expect(list().entries).toHaveLength(20);
    expect(list().done).toBe(false);

    void store.collab.history.more(A);
    const second = answer(socket, 'workspace.history', { type: 'workspace.history_result', workspace_id: A, entries: versions(5, 1) });
    expect(second).toMatchObject({ before_version: 6, limit: HISTORY_PAGE });
    await settle();
    expect(list().entries.map((e) => e.version).slice(-5)).toEqual([5, 4, 3, 2, 1]);
    expect(list().done).toBe(true);
    const sent = socket.sentOfType('workspace.history').length;
    await store.collab.history.more(A); // nothing older
    expect(socket.sentOfType('workspace.history')).toHaveLength(sent);
  });

  it('restores a version: workspace.restore, then the new entry applied to the card, the result shown; undo takes it back', async () => {
    store.collab.history.open(A);
    answer(socket, 'workspace.history', { type: 'workspace.history_result', workspace_id: A, entries: versions(25, 24) });
    await settle();
    const restored = store.collab.history.restore(A, 24);
    await settle();
    const restore = answer(socket, 'workspace.restore', { type: 'workspace.sync_confirm', workspace_id: A, version: 26, updated_at: 'now' });
    expect(restore).toMatchObject({ workspace_id: A, version: 24 });
    await settle();
    const changes = { title: 'Then', form_data: { prompt: null, lighting: 'soft' } };
    answer(socket, 'workspace.history', {
      type: 'workspace.history_result',
      workspace_id: A,
      entries: [{ ...entry(26, changes), by: { connection_id: 'c_me', user: null } }, ...versions(25, 24)],
    });
    await restored;
    const card = store.getState().timeline.byId[A];
    expect(card).toMatchObject({ title: 'Then', version: 26, form_data: { lighting: 'soft' } });
    expect('prompt' in card.form_data).toBe(false);
    expect(list().entries.map((e) => e.version)).toEqual([26, 25, 24]);
    expect(list().result).toBe('Restored version 24 as version 26.');
    expect(list().restoring).toBeUndefined();

    // The restore was this tab's change: undo sends the values it replaced.
    const undone = store.collab.undo.undo();
    await settle();
    expect(socket.sentOfType('workspace.update').at(-1)!.updates).toEqual({ title: 'Now', form_data: { prompt: 'current', lighting: null } });
    confirmUpdate(socket, 27);
    await undone;
    expect(store.view(A)).toMatchObject({ title: 'Now', form_data: { prompt: 'current' } });
  });

  it('a refused restore shows why and changes nothing', async () => {
    store.collab.history.open(A);
    const restored = store.collab.history.restore(A, 3);
    await settle();
    answer(socket, 'workspace.restore', { type: 'error', code: 'not_found', message: 'version 3 of workspace is not kept' });
    await restored;
    expect(list().error).toBe('Could not restore version 3: version 3 of workspace is not kept');
    expect(store.getState().timeline.byId[A].title).toBe('Now');
  });

  it("reloads the first page after another tab's change of the open card", async () => {
    store.collab.history.open(A);
    answer(socket, 'workspace.history', { type: 'workspace.history_result', workspace_id: A, entries: versions(25, 24) });
    await settle();
    const before = socket.sentOfType('workspace.history').length;
    socket.push({ type: 'workspace.updated', workspace_id: A, changes: { title: 'B' }, version: 26, updated_at: 'now' });
    vi.advanceTimersByTime(299);
    expect(socket.sentOfType('workspace.history')).toHaveLength(before);
    vi.advanceTimersByTime(1);
    answer(socket, 'workspace.history', { type: 'workspace.history_result', workspace_id: A, entries: versions(26, 25) });
    await settle();
    expect(list().entries.map((e) => e.version)).toEqual([26, 25, 24]);
    store.collab.history.close();
    socket.push({ type: 'workspace.updated', workspace_id: A, changes: { title: 'C' }, version: 27, updated_at: 'now' });
    vi.advanceTimersByTime(1000);
    expect(socket.sentOfType('workspace.history')).toHaveLength(before + 1); // closed: no more reloads
  });

  it('a card deleted in another tab closes its drawer', async () => {
    store.collab.history.open(A);
    socket.push({ type: 'workspace.deleted', workspace_id: A });
    expect(store.getState().historyFor).toBeNull();
    expect(store.getState().history[A]).toBeUndefined();
  });
});
