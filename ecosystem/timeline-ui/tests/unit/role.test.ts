import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { accessOf, canEdit, isExpired, jwtClaims, WorkspaceClient } from '../../src/api';
import { READ_ONLY, saveState, TimelineStore } from '../../src/state';
import { FakeSocket, workspace } from './fakeSocket';

/** A JWT-shaped token with `payload` (base64url, no padding); the signature is not checked by the UI. */
function jwt(payload: unknown, header: unknown = { alg: 'HS256', typ: 'JWT' }): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(payload)}.c2lnbmF0dXJl`;
}

const EXP = 2_000_000_000;

describe('accessOf (the role a token shows, PROTOCOL.md 9.1)', () => {
  it('reads role, sub and exp of a viewer, an editor and an admin JWT', () => {
    expect(accessOf(jwt({ sub: 'alice', projects: ['p'], role: 'viewer', exp: EXP }))).toEqual({
      role: 'viewer',
      user: 'alice',
      expiresAt: EXP * 1000,
    });
    expect(accessOf(jwt({ sub: 'bob', projects: ['*'], role: 'editor', exp: EXP })).role).toBe('editor');
    expect(accessOf(jwt({ sub: 'root', projects: ['*'], role: 'admin', exp: EXP })).role).toBe('admin');
    expect(canEdit(accessOf(jwt({ role: 'viewer', exp: EXP })))).toBe(false);
    expect(canEdit(accessOf(jwt({ role: 'editor', exp: EXP })))).toBe(true);
    expect(canEdit(accessOf(jwt({ role: 'admin', exp: EXP })))).toBe(true);
  });

  it('decodes base64url (- and _) and UTF-8 in the payload', () => {
    // "?>?" encodes to "Pz4_" in base64url: a '+'/'/' decoder would fail on it.
    const token = jwt({ sub: 'zoë ?>?', role: 'viewer', exp: EXP });
    expect(token.split('.')[1]).toMatch(/[-_]/);
    expect(accessOf(token).user).toBe('zoë ?>?');
  });

  it('a plain AUTH_TOKEN (and no token at all) may do everything', () => {
    expect(accessOf('first-token')).toEqual({ role: 'admin', user: null, expiresAt: null });
    expect(accessOf(null).role).toBe('admin');
    expect(accessOf('').role).toBe('admin');
    // An AUTH_TOKEN may contain dots: only a readable JSON payload makes a token a JWT.
    expect(accessOf('my.secret.token').role).toBe('admin');
  });

  it('a malformed token is not read as a JWT (no exception, no claims)', () => {
    for (const bad of ['a.b', 'a..c', 'x.%%%%.y', `h.${Buffer.from('not json').toString('base64url')}.s`, 'h.W10.s', 'h.bnVsbA.s', 'h.A.s']) {
      expect(jwtClaims(bad)).toBeNull();
      expect(accessOf(bad)).toEqual({ role: 'admin', user: null, expiresAt: null });
    }
    expect(jwtClaims(`h.${Buffer.from([0xff, 0xfe, 0x7b]).toString('base64url')}.s`)).toBeNull(); // not UTF-8
  });

  it('a JWT without a known role shows as a viewer; odd sub and exp are left out', () => {
    expect(accessOf(jwt({ sub: 'x', exp: EXP })).role).toBe('viewer');
    expect(accessOf(jwt({ role: 'owner', exp: EXP })).role).toBe('viewer');
    expect(accessOf(jwt({ role: 'editor', sub: 42, exp: 'soon' }))).toEqual({ role: 'editor', user: null, expiresAt: null });
  });

  it('isExpired compares exp with now', () => {
    const access = accessOf(jwt({ role: 'viewer', exp: 100 }));
    expect(isExpired(access, 99_999)).toBe(false);
    expect(isExpired(access, 100_000)).toBe(true);
    expect(isExpired(accessOf('first-token'), Number.MAX_SAFE_INTEGER)).toBe(false);
  });
});

describe('the store with a per-project token', () => {
  const A = 'a'.repeat(24);
  let store: TimelineStore;
  let token: string | null;

  async function startStore(withToken: string) {
    token = withToken;
    const client = new WorkspaceClient({ url: () => 'ws://test/ws', createSocket: (url) => new FakeSocket(url), random: () => 0.5 });
    store = new TimelineStore({ project: 'p', client, token: () => token });
    store.start();
    FakeSocket.last.accept();
    FakeSocket.last.answerList([workspace(A, { form_data: { prompt: 'old' } })]);
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

  it("a viewer's store sends no change at all, and says why", async () => {
    const socket = await startStore(jwt({ sub: 'alice', role: 'viewer', projects: ['p'], exp: EXP }));
    expect(store.getState().access).toMatchObject({ role: 'viewer', user: 'alice' });
    store.edit(A, { title: 'nope' });
    await store.create();
    await store.remove(A);
    await store.reorder([A]);
    await store.generate(A);
    await store.cancel(A);
    await store.ask(A, 'hi', true);
    await store.applySuggestion(A, { prompt: 'x' });
    vi.advanceTimersByTime(5_000);
    const changes = socket.sent.filter((m) => m.type !== 'workspace.list');
    expect(changes).toEqual([]);
    expect(store.getState().edits[A]).toBeUndefined();
    expect(store.getState().timeline.order).toEqual([A]);
    expect(store.getState().notice).toBe(READ_ONLY);
  });

  it("a viewer still sees other tabs' changes live", async () => {
    const socket = await startStore(jwt({ role: 'viewer', exp: EXP }));
    socket.push({ type: 'workspace.updated', workspace_id: A, changes: { title: 'From the editor' }, version: 2, updated_at: 'now' });
    expect(store.getState().timeline.byId[A].title).toBe('From the editor');
  });

  it('a `forbidden` reply to an edit shows a readable message on the card', async () => {
    const socket = await startStore(jwt({ role: 'editor', exp: EXP }));
    store.edit(A, { form_data: { prompt: 'new' } });
    vi.advanceTimersByTime(300);
    const [update] = socket.sentOfType('workspace.update');
    socket.push({ type: 'error', reply_to: update.id, code: 'forbidden', message: 'role viewer may not workspace.update' });
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(saveState(store.getState().edits[A], true)).toBe('error');
    expect(store.getState().edits[A].error).toBe(READ_ONLY);
  });

  it('a new token from the login dialog replaces the role shown', async () => {
    await startStore(jwt({ role: 'viewer', exp: EXP }));
    token = jwt({ sub: 'bob', role: 'editor', exp: EXP });
    store.setToken(token);
    expect(store.getState().access).toMatchObject({ role: 'editor', user: 'bob' });
  });
});
