import type { Peer } from '../state';

/** "Ana María" -> "AM", "alice" -> "AL", "Guest 4821" -> "48" (every guest would be "G4" otherwise). */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (!words.length) return '?';
  if (words.length > 1 && /^\d{2,}$/.test(words[1])) return words[1].slice(0, 2);
  const letters = words.length > 1 ? [[...words[0]][0], [...words[1]][0]] : [...words[0]].slice(0, 2);
  return letters.join('').toUpperCase();
}

interface AvatarProps {
  name: string;
  color: string;
  /** The accessible name (and tooltip). */
  label: string;
  size?: 'md' | 'sm';
  self?: boolean;
  typing?: boolean;
  testId?: string;
}

/** Initials in a coloured circle. */
export function Avatar({ name, color, label, size = 'md', self = false, typing = false, testId }: AvatarProps) {
  return (
    <span
      className={`avatar avatar-${size}${self ? ' avatar-self' : ''}${typing ? ' typing' : ''}`}
      role="img"
      aria-label={label}
      title={label}
      style={{ background: color }}
      data-testid={testId}
      data-name={name}
    >
      <span aria-hidden="true">{initials(name)}</span>
    </span>
  );
}

/** A few avatars side by side, "+N" for the rest. */
export function AvatarStack({
  peers,
  labelOf,
  max = 3,
  size = 'sm',
  testId,
}: {
  peers: readonly Peer[];
  labelOf: (peer: Peer) => string;
  max?: number;
  size?: 'md' | 'sm';
  testId?: string;
}) {
  const shown = peers.slice(0, max);
  const rest = peers.length - shown.length;
  return (
    <>
      {shown.map((peer) => (
        <Avatar key={peer.connectionId} name={peer.name} color={peer.color} label={labelOf(peer)} size={size} typing={peer.typing} testId={testId} />
      ))}
      {rest > 0 && (
        <span className={`avatar avatar-${size} avatar-more`} role="img" aria-label={`and ${rest} more`} title={peers.slice(max).map((p) => p.name).join(', ')}>
          +{rest}
        </span>
      )}
    </>
  );
}
