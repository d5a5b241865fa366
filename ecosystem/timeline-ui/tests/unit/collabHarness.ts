// A store on a fake socket whose server speaks protocol 1.1 (the "presence" and "history" features), for the
// tests of presence, history and undo.
import { WorkspaceClient, type PresenceEntry, type Workspace } from '../../src/api';
import { TimelineStore, type StoreOptions } from '../../src/state';
import { FakeSocket, type SentMessage } from './fakeSocket';

export const A = 'a'.repeat(24);
export const B = 'b'.repeat(24);

/** Let promise chains run (no timers). */
export async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** Accept the socket as a 1.1 server does: `connection.ready` with features and the others' presence. */
export function ready(socket: FakeSocket, connectionId: string, presence: PresenceEntry[] = [], features = ['jobs', 'presence', 'history']) {
  socket.readyState = 1;
  socket.onopen?.({});
  socket.push({ type: 'connection.ready', connection_id: connectionId, project: 'p', protocol: 1, server_time: 'now', features, presence });
}

export async function startStore(
  workspaces: Workspace[],
  options: Partial<StoreOptions> & { presence?: PresenceEntry[]; features?: string[] } = {},
): Promise<{ store: TimelineStore; socket: FakeSocket }> {
  const client = new WorkspaceClient({ url: () => 'ws://test/ws', createSocket: (url) => new FakeSocket(url), random: () => 0.5 });
  const store = new TimelineStore({ project: 'p', client, token: () => null, ...options });
  store.start();
  ready(FakeSocket.last, 'c_me', options.presence, options.features);
  FakeSocket.last.answerList(workspaces);
  await settle();
  return { store, socket: FakeSocket.last };
}

/** Answer the last message of `type` with `reply` (its `reply_to` added). */
export function answer(socket: FakeSocket, type: string, reply: Record<string, unknown>): SentMessage {
  const sent = socket.sentOfType(type).at(-1);
  if (!sent) throw new Error(`no ${type} was sent`);
  socket.push({ ...reply, reply_to: sent.id });
  return sent;
}

/** Confirm the last `workspace.update` as `version`. */
export function confirmUpdate(socket: FakeSocket, version: number): SentMessage {
  const sent = socket.sentOfType('workspace.update').at(-1)!;
  socket.push({ type: 'workspace.sync_confirm', reply_to: sent.id, workspace_id: String(sent.workspace_id), version, updated_at: 'now' });
  return sent;
}
