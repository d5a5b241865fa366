import { useMemo } from 'react';
import { peersOn, useStoreState, type Peer } from '../state';
import { AvatarStack } from './Avatar';
import { fieldLabel } from './labels';

const where = (peer: Peer) => (peer.field ? `editing ${fieldLabel(peer.field)}` : 'on this shot');

/** Who else is on this card (on its top edge); never this tab. */
export function CardPeers({ workspaceId }: { workspaceId: string }) {
  const peers = useStoreState((s) => s.peers);
  const here = useMemo(() => peersOn(peers, workspaceId), [peers, workspaceId]);
  if (!here.length) return null;
  return (
    <span className="card-peers" role="group" aria-label="Others on this shot" data-testid="card-peers">
      <AvatarStack peers={here} labelOf={(peer) => `${peer.name} is ${where(peer)}`} testId="card-peer" />
    </span>
  );
}

/** Who else is in one field of this card (`title` or a form key), beside the field. */
export function FieldPeers({ workspaceId, field }: { workspaceId: string; field: string }) {
  const peers = useStoreState((s) => s.peers);
  const here = useMemo(() => peersOn(peers, workspaceId, field), [peers, workspaceId, field]);
  if (!here.length) return null;
  const label = fieldLabel(field);
  return (
    <span className="field-peers" data-testid={`field-peers-${field}`}>
      <AvatarStack
        peers={here}
        max={2}
        labelOf={(peer) => `${peer.name} is editing ${label}`} // typing shows as the avatar's pulse
        testId="field-peer"
      />
    </span>
  );
}
