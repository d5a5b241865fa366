// The "Saved" chip ends SAVED_CHIP_MS after the confirmation (issue 15 item 11); fake timers play the clock.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WorkspaceClient } from '../../src/api';
import { SAVED_CHIP_MS, saveState, TimelineStore } from '../../src/state';
import { FakeSocket, workspace } from './fakeSocket';

const A = 'a'.repeat(24);
let store: TimelineStore;

async function settle() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

async function startStore() {
  const client = new WorkspaceClient({ url: () => 'ws://test/ws', createSocket: (url) => new FakeSocket(url), random: () => 0.5 });
  store = new TimelineStore({ project: 'p', client });
  store.start();
  FakeSocket.last.accept();
  FakeSocket.last.answerList([workspace(A, { title: 'Ridge at sunset', form_data: { prompt: 'old' } })]);
  await settle();
  return FakeSocket.last;
}

const save = () => saveState(store.getState().edits[A], store.getState().connection.state === 'open');

/** Type `prompt`, let the debounce send it, confirm it with `version`. */
async function saveOnce(socket: FakeSocket, prompt: string, version: number) {
  store.edit(A, { form_data: { prompt } });
  vi.advanceTimersByTime(300);
  const update = socket.sentOfType('workspace.update').at(-1)!;
  socket.push({ type: 'workspace.sync_confirm', reply_to: update.id, workspace_id: A, version, updated_at: 'now' });
  await settle();
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.reset();
});

afterEach(() => {
  store?.stop();
  vi.useRealTimers();
});

describe('the Saved chip', () => {
  it('is shown after the confirmation and gone SAVED_CHIP_MS later', async () => {
    expect(SAVED_CHIP_MS).toBeGreaterThanOrEqual(1500);
    expect(SAVED_CHIP_MS).toBeLessThanOrEqual(2000);
    const socket = await startStore();
    await saveOnce(socket, 'first', 2);
    expect(save()).toBe('saved');
    vi.advanceTimersByTime(SAVED_CHIP_MS - 1);
    expect(save()).toBe('saved');
    vi.advanceTimersByTime(1);
    expect(save()).toBe('idle');
    expect(store.view(A)!.form_data.prompt).toBe('first'); // only the chip ended, not the value
  });

  it('a new save restarts the delay: the older timer does not end the newer Saved', async () => {
    const socket = await startStore();
    await saveOnce(socket, 'first', 2);
    vi.advanceTimersByTime(SAVED_CHIP_MS - 300); // 300 ms left of the first one
    await saveOnce(socket, 'second', 3); // 300 ms of debounce: the first timer would fire now
    expect(save()).toBe('saved');
    vi.advanceTimersByTime(SAVED_CHIP_MS - 1);
    expect(save()).toBe('saved');
    vi.advanceTimersByTime(1);
    expect(save()).toBe('idle');
  });

  it('typing again ends Saved at once (editing), and stop() leaves no timer behind', async () => {
    const socket = await startStore();
    await saveOnce(socket, 'first', 2);
    store.edit(A, { form_data: { prompt: 'firs' } });
    expect(save()).toBe('editing');
    vi.advanceTimersByTime(300); // sent, not confirmed
    expect(save()).toBe('saving');
    vi.advanceTimersByTime(SAVED_CHIP_MS);
    expect(save()).toBe('saving'); // the first save's timer did not touch the one in flight
    const update = socket.sentOfType('workspace.update').at(-1)!;
    socket.push({ type: 'workspace.sync_confirm', reply_to: update.id, workspace_id: A, version: 3, updated_at: 'now' });
    await settle();
    expect(save()).toBe('saved');
    store.stop();
    expect(vi.getTimerCount()).toBe(0);
  });
});
