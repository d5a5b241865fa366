import { useEffect } from 'react';
import { AccessChip } from './components/AccessChip';
import { ConnectionChip } from './components/ConnectionChip';
import { HistoryDrawer } from './components/HistoryDrawer';
import { LoginDialog } from './components/LoginDialog';
import { PresenceBar } from './components/PresenceBar';
import { ProjectPicker } from './components/ProjectPicker';
import { Studio } from './components/Studio';
import { Timeline } from './components/Timeline';
import { UndoButtons } from './components/UndoButtons';
import { usePresenceFocus } from './components/usePresenceFocus';
import { useUndoKeys } from './components/useUndoKeys';
import { useCanEdit, useStore, useStoreState } from './state';

export function App() {
  const store = useStore();
  const project = useStoreState((s) => s.project);
  const count = useStoreState((s) => s.timeline.order.length);
  const notice = useStoreState((s) => s.notice);
  const needsToken = useStoreState((s) => s.needsToken);
  const editable = useCanEdit();
  useUndoKeys(store);
  usePresenceFocus(store);

  useEffect(() => {
    document.title = `${project} · Timeline`;
  }, [project]);

  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <span className="logo" aria-hidden="true">▶</span>
          <span className="brand-name">Shotline</span>
          <span className="divider" aria-hidden="true">/</span>
          <ProjectPicker />
          <span className="muted small count" data-testid="card-count">
            {count} {count === 1 ? 'shot' : 'shots'}
          </span>
        </div>
        <div className="topbar-actions">
          <PresenceBar />
          <UndoButtons />
          <AccessChip />
          <ConnectionChip />
          {editable && (
            <button type="button" className="btn btn-primary" onClick={() => void store.create()} data-testid="add-shot">
              + Add shot
            </button>
          )}
        </div>
      </header>
      {notice && (
        <div className="notice" role="alert" data-testid="notice">
          <span>{notice}</span>
          <button type="button" className="btn btn-ghost btn-small" onClick={() => store.dismissNotice()}>
            Dismiss
          </button>
        </div>
      )}
      <Studio />
      <div className="main-area">
        <Timeline />
        <HistoryDrawer />
      </div>
      {needsToken && <LoginDialog />}
    </div>
  );
}
