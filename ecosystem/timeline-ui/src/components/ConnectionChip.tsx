import { useEffect, useState } from 'react';
import { useStore, useStoreState } from '../state';

/** Where the tab stands with the server: live, connecting, reconnecting (with a countdown), or signed out. */
export function ConnectionChip() {
  const store = useStore();
  const status = useStoreState((s) => s.connection);
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (status.state !== 'reconnecting') return;
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, [status.state]);

  let tone: string;
  let label: string;
  switch (status.state) {
    case 'open':
      tone = 'ok';
      label = 'Live';
      break;
    case 'connecting':
      tone = 'busy';
      label = status.attempt ? 'Reconnecting…' : 'Connecting…';
      break;
    case 'reconnecting': {
      tone = 'warn';
      const seconds = Math.max(0, Math.ceil((status.retryAt - now) / 1000));
      label = `Offline · retry in ${seconds}s`;
      break;
    }
    case 'unauthorized':
      tone = 'danger';
      label = 'Sign-in required';
      break;
    default:
      tone = 'muted';
      label = 'Disconnected';
  }
  return (
    <div className="connection" data-testid="connection" data-state={status.state}>
      <span className={`chip chip-${tone}`} role="status" aria-live="polite">
        <span className="dot" aria-hidden="true" />
        {label}
      </span>
      {status.state === 'reconnecting' && (
        <button type="button" className="btn btn-ghost btn-small" onClick={() => store.reconnectNow()}>
          Retry now
        </button>
      )}
    </div>
  );
}
