import { useMemo } from 'react';
import { listPeers, useStoreState } from '../state';
import { Avatar, AvatarStack } from './Avatar';

/** The header's "who is here": the other connections of the project (PROTOCOL.md 10.1), then this tab. */
export function PresenceBar() {
  const peers = useStoreState((s) => s.peers);
  const me = useStoreState((s) => s.me);
  const supported = useStoreState((s) => s.features.includes('presence'));
  const list = useMemo(() => listPeers(peers), [peers]);
  if (!supported) return null;
  const here = list.length === 1 ? '1 other person here' : `${list.length} other people here`;
  return (
    <div className="presence-bar" role="group" aria-label="Who is here" data-testid="presence-bar" title={here}>
      <AvatarStack peers={list} labelOf={(peer) => peer.name} max={5} size="md" testId="peer-avatar" />
      <Avatar name={me.name} color={me.color} label={`You (${me.name})`} self testId="me-avatar" />
    </div>
  );
}
