import { useState } from 'react';
import type { SaveState } from '../state';

const LABELS: Record<SaveState, string> = {
  idle: '',
  editing: 'Editing…',
  saving: 'Saving…',
  saved: 'Saved',
  offline: 'Offline',
  error: 'Not saved',
};

const TITLES: Record<SaveState, string> = {
  idle: '',
  editing: 'Your changes are sent 300 ms after you stop typing',
  saving: 'Waiting for the server to confirm',
  saved: 'Stored on the server',
  offline: 'Kept in this tab; sent when the connection is back',
  error: 'The server refused the change',
};

const TONES: Record<SaveState, string> = {
  idle: 'muted',
  editing: 'muted',
  saving: 'busy',
  saved: 'ok',
  offline: 'warn',
  error: 'danger',
};

/**
 * The card's save state. "Saved" ends after SAVED_CHIP_MS (the store's timer) and the chip fades out (CSS on
 * data-state="idle"), still showing the last label while it fades; then it is invisible and out of the way.
 */
export function SaveChip({ state, error }: { state: SaveState; error?: string }) {
  const [last, setLast] = useState<SaveState>(state);
  if (state !== 'idle' && state !== last) setLast(state); // remembered for the fade-out
  const shown = state === 'idle' ? last : state;
  return (
    <span
      className={`chip chip-${TONES[shown]} save-chip`}
      data-testid="save-state"
      data-state={state}
      title={error ?? TITLES[shown]}
      role="status"
      aria-live="polite"
    >
      <span className="dot" aria-hidden="true" />
      {LABELS[shown]}
    </span>
  );
}
