// Presence (PROTOCOL.md 10.1, issue 16 item 1): the reducer of the others' states, rebuilt on every reconnect,
// and what this tab sends (on connect, on focus changes, throttled, only to a server with the feature).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { initials } from '../../src/components/Avatar';
import type { TimelineStore } from '../../src/state';
import { colorFor, guestName, identityOf } from '../../src/state/identity';
import { changed, fromReady, left, listPeers, peerOf, peersOn, rememberNames } from '../../src/state/presence';
import { PRESENCE_INTERVAL_MS, Throttle, TYPING_MS } from '../../src/state/presenceSync';
import { A, B, ready, settle, startStore } from './collabHarness';
import { FakeSocket, workspace } from './fakeSocket';

const ana = { name: 'Ana', color: '#e91e63', workspace_id: A, field: 'prompt', typing: false };

describe('the presence reducer', () => {
  it('takes every other connection from connection.ready, never this one, a null state as "Anonymous"', () => {
    const peers = fromReady(
      [
        { connection_id: 'c_1', state: ana, since: '2026-01-01T10:00:00Z' },
        { connection_id: 'c_2', state: null, since: '2026-01-01T09:00:00Z' },
        { connection_id: 'c_me', state: { name: 'Me' }, since: '2026-01-01T08:00:00Z' },
      ],
      'c_me',
    );
    expect(Object.keys(peers).sort()).toEqual(['c_1', 'c_2']);
    expect(peers.c_1).toMatchObject({ name: 'Ana', color: '#e91e63', workspaceId: A, field: 'prompt', since: '2026-01-01T10:00:00Z' });
    expect(peers.c_2).toMatchObject({ name: 'Anonymous', workspaceId: null, field: null, color: colorFor('Anonymous') });
    expect(listPeers(peers).map((p) => p.connectionId)).toEqual(['c_2', 'c_1']); // who came first, first
    expect(fromReady(undefined, 'c_me')).toEqual({}); // a 1.0 server has no presence
  });

  it('keeps only what it shows of a state, each value checked', () => {
    const odd = peerOf('c_9', { name: 'x'.repeat(100), color: 'red; background: url(x)', field: 'prompt', typing: true, extra: [1] });
    expect(odd.name).toHaveLength(40);
    expect(odd.color).toMatch(/^#[0-9a-f]{6}$/); // derived, not the injected text
    expect(odd.field).toBeNull(); // a field without a card is nowhere
    expect(odd.typing).toBe(false);
    expect(peerOf('c_9', ['not', 'an', 'object']).name).toBe('Anonymous');
    expect(peerOf('c_9', { user: 'alice' })).toMatchObject({ name: 'alice', user: 'alice' });
  });

  it('presence.changed adds a new connection and replaces the state of a known one, keeping since', () => {
    let peers = changed({}, 'c_1', null, 'c_me', '2026-01-01T10:00:00Z');
    expect(peers.c_1).toMatchObject({ name: 'Anonymous', since: '2026-01-01T10:00:00Z' });
    peers = changed(peers, 'c_1', ana, 'c_me', '2026-01-01T11:00:00Z');
    expect(peers.c_1).toMatchObject({ name: 'Ana', field: 'prompt', since: '2026-01-01T10:00:00Z' });
    expect(changed(peers, 'c_me', ana, 'c_me')).toBe(peers); // never this tab
  });

  it('presence.left removes one connection; an unknown one changes nothing', () => {
    const peers = fromReady([{ connection_id: 'c_1', state: ana, since: 's' }, { connection_id: 'c_2', state: null, since: 's' }], null);
    const after = left(peers, 'c_1');
    expect(Object.keys(after)).toEqual(['c_2']);
    expect(left(after, 'c_1')).toBe(after);
  });

  it('peersOn finds who is on a card, and in one of its fields', () => {
    const peers = fromReady(
      [
        { connection_id: 'c_1', state: ana, since: '1' },
        { connection_id: 'c_2', state: { ...ana, name: 'Bo', field: null }, since: '2' },
        { connection_id: 'c_3', state: { ...ana, name: 'Cy', workspace_id: B }, since: '3' },
      ],
      null,
    );
    expect(peersOn(peers, A).map((p) => p.name)).toEqual(['Ana', 'Bo']);
    expect(peersOn(peers, A, 'prompt').map((p) => p.name)).toEqual(['Ana']);
    expect(peersOn(peers, B, 'title')).toEqual([]);
  });

  it('remembers the names of connections seen, the newest ones, after they left', () => {
    const peers = fromReady([{ connection_id: 'c_1', state: ana, since: '1' }], null);
    const names = rememberNames({}, peers);
    expect(names).toEqual({ c_1: 'Ana' });
    expect(rememberNames(names, peers)).toBe(names); // nothing new
    expect(rememberNames({ c_0: 'Old', c_x: 'X' }, peers, 2)).toEqual({ c_x: 'X', c_1: 'Ana' });
  });
});

describe('identity', () => {
  it('is the token sub, else a Guest NNNN pseudonym kept for the page; the colour follows the name', () => {
    expect(identityOf({ role: 'editor', user: 'alice', expiresAt: null })).toEqual({ name: 'alice', color: colorFor('alice') });
    const guest = guestName(() => 0.5);
    expect(guest).toMatch(/^Guest \d{4}$/);
    expect(guestName(() => 0.1)).toBe(guest); // stable
    expect(colorFor('alice')).toBe(colorFor('alice'));
    expect(colorFor('alice')).not.toBe(colorFor('bob'));
  });

  it('shows initials: two words, two letters of one, the digits of a guest', () => {
    expect(initials('Ana María')).toBe('AM');
    expect(initials('alice')).toBe('AL');
    expect(initials('Guest 4821')).toBe('48');
    expect(initials('  ')).toBe('?');
  });
});

describe('Throttle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('delivers the first value at once, then at most one per interval: the latest', () => {
    const got: number[] = [];
    const throttle = new Throttle<number>(200, () => Date.now(), (v) => got.push(v));
    throttle.push(1);
    throttle.push(2);
    throttle.push(3);
    expect(got).toEqual([1]);
    vi.advanceTimersByTime(199);
    expect(got).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(got).toEqual([1, 3]);
    vi.advanceTimersByTime(1000);
    throttle.push(4);
    expect(got).toEqual([1, 3, 4]);
    throttle.push(5);
    throttle.reset(); // a new connection: what waited is dropped
    vi.advanceTimersByTime(1000);
    expect(got).toEqual([1, 3, 4]);
  });
});

describe('presence in the store', () => {
  let store: TimelineStore;

  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.reset();
  });

  afterEach(() => {
    store?.stop();
    vi.useRealTimers();
  });

  const sentStates = (socket: FakeSocket) => socket.sentOfType('presence.update').map((m) => m.state as Record<string, unknown>);

  it('shows the others from connection.ready, follows changed and left, and sends its own state on connect', async () => {
    const started = await startStore([workspace(A)], { presence: [{ connection_id: 'c_1', state: ana, since: '1' }] });
    store = started.store;
    const socket = started.socket;
    expect(Object.keys(store.getState().peers)).toEqual(['c_1']);
    const [mine] = sentStates(socket);
    expect(mine).toEqual({ name: store.getState().me.name, color: store.getState().me.color, workspace_id: null, field: null, typing: false });
    expect(socket.sent.map((m) => m.type).slice(0, 2)).toEqual(['workspace.list', 'presence.update']);

    socket.push({ type: 'presence.changed', connection_id: 'c_2', state: null });
    socket.push({ type: 'presence.changed', connection_id: 'c_1', state: { ...ana, field: 'title' } });
    expect(store.getState().peers.c_1.field).toBe('title');
    expect(store.getState().peers.c_2.name).toBe('Anonymous');
    socket.push({ type: 'presence.left', connection_id: 'c_1' });
    expect(Object.keys(store.getState().peers)).toEqual(['c_2']);
    expect(store.getState().peerNames).toMatchObject({ c_1: 'Ana', c_me: 'You' });
  });

  it('forgets the others when the connection drops and rebuilds them from the next connection.ready', async () => {
    const started = await startStore([workspace(A)], {
      presence: [
        { connection_id: 'c_1', state: ana, since: '1' },
        { connection_id: 'c_2', state: null, since: '2' },
      ],
    });
    store = started.store;
    store.collab.presence.focus(A, 'prompt');
    started.socket.drop(1006);
    expect(store.getState().peers).toEqual({});
    vi.advanceTimersByTime(500); // the reconnect (500 ms * jitter 0.5..1)
    const second = FakeSocket.last;
    expect(second).not.toBe(started.socket);
    // c_1 left while this tab was away (no presence.left reached it), c_3 came.
    ready(second, 'c_me2', [
      { connection_id: 'c_2', state: { ...ana, name: 'Bo' }, since: '2' },
      { connection_id: 'c_3', state: null, since: '3' },
    ]);
    expect(Object.keys(store.getState().peers).sort()).toEqual(['c_2', 'c_3']);
    expect(store.getState().peers.c_2.name).toBe('Bo');
    // The new connection is told where this tab is, at once.
    expect(sentStates(second)).toEqual([expect.objectContaining({ workspace_id: A, field: 'prompt' })]);
  });

  it('sends focus changes at most every PRESENCE_INTERVAL_MS, the latest winning, and nothing unchanged', async () => {
    const started = await startStore([workspace(A), workspace(B)]);
    store = started.store;
    const socket = started.socket;
    vi.advanceTimersByTime(1000);
    store.collab.presence.focus(A, 'prompt');
    store.collab.presence.focus(A, 'title');
    store.collab.presence.focus(B, 'lighting');
    expect(sentStates(socket).slice(1)).toEqual([expect.objectContaining({ workspace_id: A, field: 'prompt' })]);
    vi.advanceTimersByTime(PRESENCE_INTERVAL_MS);
    expect(sentStates(socket).slice(1)).toEqual([
      expect.objectContaining({ workspace_id: A, field: 'prompt' }),
      expect.objectContaining({ workspace_id: B, field: 'lighting' }),
    ]);
    vi.advanceTimersByTime(1000);
    store.collab.presence.focus(B, 'lighting'); // same place: nothing
    store.collab.presence.focus(null, 'lighting'); // no card: no field either
    vi.advanceTimersByTime(1000);
    expect(sentStates(socket).slice(3)).toEqual([{ ...sentStates(socket)[0], workspace_id: null, field: null }]);
  });

  it('says "typing" on the first keystroke in the focused field and stops TYPING_MS after the last', async () => {
    const started = await startStore([workspace(A)]);
    store = started.store;
    const socket = started.socket;
    store.collab.presence.focus(A, 'prompt');
    vi.advanceTimersByTime(1000);
    store.edit(A, { form_data: { prompt: 'a' } });
    store.edit(A, { form_data: { prompt: 'ab' } });
    vi.advanceTimersByTime(TYPING_MS - 1);
    store.edit(A, { form_data: { prompt: 'abc' } });
    expect(sentStates(socket).map((s) => s.typing)).toEqual([false, false, true]);
    vi.advanceTimersByTime(TYPING_MS);
    expect(sentStates(socket).map((s) => s.typing)).toEqual([false, false, true, false]);
  });

  it('sends nothing to a server without the presence feature (1.0)', async () => {
    const started = await startStore([workspace(A)], { features: ['jobs'] });
    store = started.store;
    store.collab.presence.focus(A, 'prompt');
    vi.advanceTimersByTime(1000);
    await settle();
    expect(started.socket.sentOfType('presence.update')).toEqual([]);
  });
});
