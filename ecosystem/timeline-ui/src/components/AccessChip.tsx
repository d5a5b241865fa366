import { useStoreState } from '../state';

/** Who the tab's token says it is (`sub`) and, for a viewer, that the timeline is read-only (PROTOCOL.md 9.1). */
export function AccessChip() {
  const access = useStoreState((s) => s.access);
  return (
    <>
      {access.user && (
        <span className="muted small signed-in" data-testid="signed-in-as" title={`Role: ${access.role}`}>
          signed in as <strong>{access.user}</strong>
        </span>
      )}
      {access.role === 'viewer' && (
        <span
          className="chip chip-readonly"
          data-testid="read-only"
          title="Your access token lets you watch this timeline live; it does not allow changes."
        >
          <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
            <path fill="currentColor" d="M5 7V5a3 3 0 0 1 6 0v2h1v7H4V7h1Zm1.5 0h3V5a1.5 1.5 0 0 0-3 0v2Z" />
          </svg>
          Read-only (viewer)
        </span>
      )}
    </>
  );
}
