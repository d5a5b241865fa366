// Undo and redo (issue 16 item 3): the stacks (coalescing a burst of typing, inversion with null for absent form
// keys) and, in the store, undo/redo sent as ordinary forward updates of this tab's own confirmed changes.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TimelineStore } from '../../src/state';
import { beforeOf, COALESCE_MS, emptyStacks, forgetCard, keysOf, record, takeRedo, takeUndo } from '../../src/state/undo';
import { A, B, confirmUpdate, settle, startStore } from './collabHarness';
import { FakeSocket, workspace } from './fakeSocket';

const step = (workspaceId: string, before: object, after: object, at: number) => ({ workspaceId, before, after, at });

describe('the undo stacks', () => {
  it('inverts a patch: the old values, null for a form key that was absent', () => {
    const base = workspace(A, { title: 'Old', form_data: { prompt: 'kite', duration_s: 5 } });
    expect(beforeOf(base, { title: 'New', form_data: { prompt: 'sea', lighting: 'soft' } })).toEqual({
      title: 'Old',
      form_data: { prompt: 'kite', lighting: null },
    });
    expect(beforeOf(base, { image_url: '/uploads/x.png', image_path: 'uploads/x.png' })).toEqual({ image_url: null, image_path: null });
    expect(keysOf({ title: 't', form_data: { prompt: 'p', lighting: null } })).toEqual(['form_data.lighting', 'form_data.prompt', 'title']);
  });

  it('coalesces changes of the same fields of one card within COALESCE_MS into one step', () => {
    let stacks = record(emptyStacks, step(A, { form_data: { prompt: null } }, { form_data: { prompt: 'a' } }, 0));
    stacks = record(stacks, step(A, { form_data: { prompt: 'a' } }, { form_data: { prompt: 'a red' } }, 600));
    stacks = record(stacks, step(A, { form_data: { prompt: 'a red' } }, { form_data: { prompt: 'a red kite' } }, 600 + COALESCE_MS));
    expect(stacks.undo).toHaveLength(1);
    expect(stacks.undo[0]).toMatchObject({ before: { form_data: { prompt: null } }, after: { form_data: { prompt: 'a red kite' } } });
  });

  it('starts a new step after a pause, on another field and on another card', () => {
    let stacks = record(emptyStacks, step(A, { title: '' }, { title: 'T' }, 0));
    stacks = record(stacks, step(A, { title: 'T' }, { title: 'Ti' }, COALESCE_MS + 1)); // a pause
    stacks = record(stacks, step(A, { form_data: { prompt: null } }, { form_data: { prompt: 'p' } }, COALESCE_MS + 2)); // another field
    stacks = record(stacks, step(B, { form_data: { prompt: null } }, { form_data: { prompt: 'p' } }, COALESCE_MS + 3)); // another card
    expect(stacks.undo.map((s) => [s.workspaceId, s.keys.join()])).toEqual([
      [A, 'title'],
      [A, 'title'],
      [A, 'form_data.prompt'],
      [B, 'form_data.prompt'],
    ]);
  });

  it('drops a step that ends where it started (typed, then typed back)', () => {
    let stacks = record(emptyStacks, step(A, { title: 'Old' }, { title: 'Olde' }, 0));
    stacks = record(stacks, step(A, { title: 'Olde' }, { title: 'Old' }, 300));
    expect(stacks.undo).toEqual([]);
  });

  it('undo moves a step to the redo stack and redo back; a new change clears the redo stack', () => {
    let stacks = record(emptyStacks, step(A, { title: '' }, { title: 'One' }, 0));
    stacks = record(stacks, step(A, { title: 'One' }, { title: 'Two' }, 5000));
    const undone = takeUndo(stacks)!;
    expect(undone.step.before).toEqual({ title: 'One' });
    expect(undone.stacks.undo).toHaveLength(1);
    expect(undone.stacks.redo).toHaveLength(1);
    const redone = takeRedo(undone.stacks)!;
    expect(redone.step.after).toEqual({ title: 'Two' });
    expect(redone.stacks.undo).toHaveLength(2);
    expect(redone.stacks.redo).toHaveLength(0);
    const fresh = record(undone.stacks, step(A, { title: 'One' }, { title: 'Three' }, 9000));
    expect(fresh.redo).toEqual([]);
    expect(takeRedo(fresh)).toBeNull();
    expect(takeUndo(emptyStacks)).toBeNull();
  });

  it('keeps at most MAX steps and forgets the steps of a deleted card', () => {
    let stacks = emptyStacks;
    for (let i = 0; i < 5; i++) stacks = record(stacks, step(i % 2 ? A : B, { title: `${i}` }, { title: `${i + 1}` }, i * 5000), COALESCE_MS, 3);
    expect(stacks.undo.map((s) => s.after.title)).toEqual(['3', '4', '5']);
    expect(forgetCard(stacks, A).undo.map((s) => s.workspaceId)).toEqual([B, B]);
  });
});

describe('undo and redo in the store', () => {
  let store: TimelineStore;
  let socket: FakeSocket;

  beforeEach(async () => {
    vi.useFakeTimers();
    FakeSocket.reset();
    ({ store, socket } = await startStore([workspace(A, { title: 'Shot', form_data: { prompt: 'old', duration_s: 5 } })]));
  });

  afterEach(() => {
    store?.stop();
    vi.useRealTimers();
  });

  /** Type `patch`, let the debounce send it, and confirm it as `version`. */
  async function typeAndSave(patch: Parameters<TimelineStore['edit']>[1], version: number) {
    store.edit(A, patch);
    vi.advanceTimersByTime(300);
    confirmUpdate(socket, version);
    await settle();
  }

  it('undo sends the previous values as an update, redo the undone ones; each is confirmed like any change', async () => {
    await typeAndSave({ form_data: { prompt: 'new' } }, 2);
    expect(store.getState().undo).toEqual({ undo: 1, redo: 0 });
    const undone = store.collab.undo.undo();
    await settle();
    const undo = socket.sentOfType('workspace.update').at(-1)!;
    expect(undo.updates).toEqual({ form_data: { prompt: 'old' } });
    expect(store.view(A)!.form_data.prompt).toBe('old'); // shown at once
    confirmUpdate(socket, 3);
    await undone;
    expect(store.getState().timeline.byId[A].form_data.prompt).toBe('old');
    expect(store.getState().undo).toEqual({ undo: 0, redo: 1 }); // the undo itself is no new step

    const redone = store.collab.undo.redo();
    await settle();
    expect(socket.sentOfType('workspace.update').at(-1)!.updates).toEqual({ form_data: { prompt: 'new' } });
    confirmUpdate(socket, 4);
    await redone;
    expect(store.getState().timeline.byId[A].form_data.prompt).toBe('new');
    expect(store.getState().undo).toEqual({ undo: 1, redo: 0 });
  });

  it('a burst of typing in one field is one step; a form key that was absent is removed again (null)', async () => {
    await typeAndSave({ form_data: { lighting: 'so' } }, 2);
    vi.advanceTimersByTime(400);
    await typeAndSave({ form_data: { lighting: 'soft' } }, 3);
    expect(store.getState().undo.undo).toBe(1);
    const undone = store.collab.undo.undo();
    await settle();
    expect(socket.sentOfType('workspace.update').at(-1)!.updates).toEqual({ form_data: { lighting: null } });
    confirmUpdate(socket, 4);
    await undone;
    expect('lighting' in store.getState().timeline.byId[A].form_data).toBe(false);
  });

  it('after a pause of more than COALESCE_MS, undo goes back one burst at a time', async () => {
    await typeAndSave({ title: 'Shot one' }, 2);
    vi.advanceTimersByTime(COALESCE_MS + 500);
    await typeAndSave({ title: 'Shot one, take two' }, 3);
    const undone = store.collab.undo.undo();
    await settle();
    expect(socket.sentOfType('workspace.update').at(-1)!.updates).toEqual({ title: 'Shot one' });
    confirmUpdate(socket, 4);
    await undone;
    expect(store.getState().undo).toEqual({ undo: 1, redo: 1 });
  });

  it('sends the draft typed just now first, so undo takes back that very burst', async () => {
    store.edit(A, { form_data: { prompt: 'typed just now' } });
    const undone = store.collab.undo.undo(); // before the 300 ms debounce
    await settle();
    const updates = socket.sentOfType('workspace.update');
    expect(updates.map((u) => u.updates)).toEqual([{ form_data: { prompt: 'typed just now' } }]);
    confirmUpdate(socket, 2);
    await settle();
    expect(socket.sentOfType('workspace.update').at(-1)!.updates).toEqual({ form_data: { prompt: 'old' } });
    confirmUpdate(socket, 3);
    await undone;
    expect(store.view(A)!.form_data.prompt).toBe('old');
  });

  it("other tabs' changes are not undone; nothing to undo sends nothing", async () => {
    socket.push({ type: 'workspace.updated', workspace_id: A, changes: { title: 'From B' }, version: 2, updated_at: 'now' });
    await store.collab.undo.undo();
    expect(socket.sentOfType('workspace.update')).toEqual([]);
    expect(store.view(A)!.title).toBe('From B');
  });

  it('offline, undo says so and sends nothing', async () => {
    await typeAndSave({ title: 'New' }, 2);
    socket.drop(1006);
    await store.collab.undo.undo();
    expect(store.getState().notice).toMatch(/offline/);
    expect(store.getState().undo).toEqual({ undo: 1, redo: 0 });
  });
});
