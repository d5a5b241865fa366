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

export function SaveChip({ state, error }: { state: SaveState; error?: string }) {
  return (
    <span
      className={`chip chip-${TONES[state]} save-chip`}
      data-testid="save-state"
      data-state={state}
      title={error ?? TITLES[state]}
      role="status"
      aria-live="polite"
      hidden={state === 'idle'}
    >
      <span className="dot" aria-hidden="true" />
      {LABELS[state]}
    </span>
  );
}
