import { useEffect, useId, useRef } from 'react';
import type { HistoryEntry } from '../api';
import { useCanEdit, useStore, useStoreState } from '../state';
import { authorOf, describeChanges } from './changes';

const clock = (when: Date) =>
  Number.isNaN(when.getTime()) ? '' : when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/**
 * The history of the shot whose "History" button was pressed (PROTOCOL.md 10.2): its stored changes, newest first,
 * page by page; "Restore this version" makes an older version the current one (a new version: undoable too).
 */
export function HistoryDrawer() {
  const store = useStore();
  const id = useStoreState((s) => s.historyFor);
  const list = useStoreState((s) => (s.historyFor ? s.history[s.historyFor] : undefined));
  const card = useStoreState((s) => (s.historyFor ? s.timeline.byId[s.historyFor] : undefined));
  const index = useStoreState((s) => (s.historyFor ? s.timeline.order.indexOf(s.historyFor) : -1));
  const names = useStoreState((s) => s.peerNames);
  const editable = useCanEdit();
  const titleId = useId();
  const close = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (id) close.current?.focus();
  }, [id]);

  useEffect(() => {
    if (id && !card) store.collab.history.close(); // the shot was deleted
  }, [id, card, store]);

  if (!id || !card) return null;
  const name = card.title || `Shot ${index + 1}`;
  const entries = list?.entries ?? [];
  const history = store.collab.history;

  return (
    <aside
      className="history-drawer"
      role="dialog"
      aria-labelledby={titleId}
      data-testid="history-drawer"
      data-card={id}
      onKeyDown={(e) => {
        if (e.key === 'Escape') history.close();
      }}
    >
      <header className="history-head">
        <h2 id={titleId}>History · {name}</h2>
        <button type="button" ref={close} className="icon-btn" aria-label="Close history" onClick={() => history.close()}>
          ✕
        </button>
      </header>
      <div className="history-body">
        {list?.result && (
          <p className="history-result" role="status" data-testid="history-result">
            {list.result}
          </p>
        )}
        {list?.error && (
          <p className="error-text" role="alert" data-testid="history-error">
            {list.error}
          </p>
        )}
        <ol className="history-list" aria-label="Versions">
          {entries.map((entry, i) => (
            <EntryRow
              key={entry.version}
              entry={entry}
              current={i === 0}
              who={authorOf(entry.by, names)}
              restoring={list?.restoring}
              onRestore={editable ? () => void history.restore(id, entry.version) : undefined}
            />
          ))}
        </ol>
        {list?.loading && entries.length === 0 && <p className="muted small">Loading…</p>}
        {!list?.loading && entries.length === 0 && !list?.error && <p className="muted small">No stored changes yet.</p>}
        {list && !list.done && entries.length > 0 && (
          <button type="button" className="btn btn-ghost btn-small" disabled={list.loading} onClick={() => void history.more(id)} data-testid="history-more">
            Load more
          </button>
        )}
      </div>
    </aside>
  );
}

function EntryRow({
  entry,
  current,
  who,
  restoring,
  onRestore,
}: {
  entry: HistoryEntry;
  current: boolean;
  who: string;
  restoring: number | undefined;
  onRestore?: () => void;
}) {
  const when = new Date(entry.at);
  return (
    <li className="history-entry" data-testid="history-entry" data-version={entry.version}>
      <div className="history-meta">
        <strong>v{entry.version}</strong>
        <time dateTime={entry.at} title={Number.isNaN(when.getTime()) ? entry.at : when.toLocaleString()}>
          {clock(when)}
        </time>
        <span className="history-who">{who}</span>
        {current && <span className="chip chip-ok">Current</span>}
      </div>
      <p className="history-changes" data-testid="history-changes">
        {describeChanges(entry.changes)}
      </p>
      {onRestore && !current && (
        <button
          type="button"
          className="btn btn-small"
          aria-label={`Restore version ${entry.version}`}
          disabled={restoring !== undefined}
          onClick={onRestore}
        >
          {restoring === entry.version ? 'Restoring…' : 'Restore this version'}
        </button>
      )}
    </li>
  );
}
