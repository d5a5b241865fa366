import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { AiEntry, Workspace } from '../api';
import { isSuggestionApplied, useCanEdit, useStore, useStoreState } from '../state';
import { formatTime, humanize } from './labels';

/** The card's conversation with the AI: ask, watch the answer stream in, apply structured suggestions (a viewer: read it). */
export function AiPanel({ workspace }: { workspace: Workspace }) {
  const store = useStore();
  const ai = useStoreState((s) => s.ai[workspace.id]);
  const connected = useStoreState((s) => s.connection.state === 'open');
  const [open, setOpen] = useState(false);
  const editable = useCanEdit();
  const [message, setMessage] = useState('');
  const [structured, setStructured] = useState(true);
  const log = useRef<HTMLDivElement>(null);
  const entries = workspace.ai_collaboration;
  const busy = ai?.busy ?? false;

  useEffect(() => {
    log.current?.scrollTo({ top: log.current.scrollHeight });
  }, [entries.length, ai?.streaming, open]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!message.trim() || busy) return;
    void store.ask(workspace.id, message, structured);
    setMessage('');
  };

  return (
    <section className={`ai-panel${open ? ' open' : ''}`} data-testid="ai-panel" aria-label="AI assistant">
      <button type="button" className="ai-toggle" aria-expanded={open} onClick={() => setOpen(!open)} data-testid="ai-toggle">
        <span className="ai-spark" aria-hidden="true">✦</span>
        AI assistant
        {entries.length > 0 && <span className="count">{entries.length}</span>}
        <span className="spacer" />
        {busy && <span className="chip chip-busy"><span className="dot" />Thinking</span>}
        <span className="chevron" aria-hidden="true">{open ? '▾' : '▸'}</span>
      </button>
      {open && (
        <div className="ai-body">
          <div className="ai-log" ref={log} data-testid="ai-log">
            {entries.length === 0 && !busy && (
              <p className="muted small">
                {editable ? 'Ask for a better prompt, a camera idea, or a full shot setup.' : 'No conversation with the AI yet.'}
              </p>
            )}
            {entries.map((entry, index) => (
              <AiMessage
                key={`${entry.created_at}-${index}`}
                entry={entry}
                applied={isSuggestionApplied(entry, workspace.form_data)}
                onApply={editable ? (patch) => void store.applySuggestion(workspace.id, patch) : undefined}
              />
            ))}
            {busy && (
              <>
                {ai?.question && <div className="ai-msg user pending">{ai.question}</div>}
                <div className="ai-msg assistant streaming" data-testid="ai-streaming">
                  {ai?.streaming || <span className="typing" aria-label="The AI is writing">···</span>}
                </div>
              </>
            )}
            {ai?.error && (
              <p className="error-text" role="alert" data-testid="ai-error">
                {ai.error}
              </p>
            )}
          </div>
          {editable && (
            <form className="ai-ask" onSubmit={submit}>
              <textarea
                rows={2}
                value={message}
                maxLength={4000}
                placeholder={connected ? 'Ask the AI about this shot…' : 'Offline'}
                aria-label="Message to the AI"
                data-testid="ai-input"
                onChange={(e) => setMessage(e.target.value)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) submit(e);
                }}
              />
              <div className="ai-ask-row">
                <label className="check">
                  <input type="checkbox" checked={structured} onChange={(e) => setStructured(e.target.checked)} data-testid="ai-apply-mode" />
                  Suggest form changes
                </label>
                <button type="submit" className="btn btn-primary btn-small" disabled={!connected || busy || !message.trim()} data-testid="ai-send">
                  Ask
                </button>
              </div>
            </form>
          )}
        </div>
      )}
    </section>
  );
}

/** `applied`: the form already has every value of the suggestion's patch (also after a reload); no `onApply`: no button. */
function AiMessage({ entry, applied, onApply }: { entry: AiEntry; applied: boolean; onApply?: (patch: Record<string, unknown>) => void }) {
  const patch = entry.form_data_patch;
  const keys = patch ? Object.keys(patch) : [];
  // A structured answer's text is often the JSON of its patch: the list below says it better.
  const isJson = keys.length > 0 && /^\s*\{/.test(entry.content);
  return (
    <div className={`ai-msg ${entry.role}`} data-testid={`ai-msg-${entry.role}`}>
      <div className="ai-text">{isJson ? 'Suggested shot settings:' : entry.content}</div>
      {patch && keys.length > 0 && (
        <div className="ai-patch" data-testid="ai-patch">
          <ul>
            {keys.map((key) => (
              <li key={key}>
                <span className="muted">{humanize(key)}:</span> {formatValue(key, patch[key])}
              </li>
            ))}
          </ul>
          {onApply && (
            <button
              type="button"
              className="btn btn-small btn-primary"
              data-testid="ai-apply"
              disabled={applied}
              title={applied ? 'The form already has these values' : undefined}
              onClick={() => onApply(patch)}
            >
              {applied ? 'Applied' : 'Apply'}
            </button>
          )}
        </div>
      )}
      <div className="ai-meta">
        {entry.role === 'assistant' && entry.provider ? `${entry.provider}${entry.model ? ` · ${entry.model}` : ''} · ` : ''}
        {formatTime(entry.created_at)}
      </div>
    </div>
  );
}

const CHOICE_KEYS = new Set(['camera_movement', 'shot_size', 'lighting']);

function formatValue(key: string, value: unknown): string {
  if (value === null) return '(removed)';
  if (typeof value === 'string' && CHOICE_KEYS.has(key)) return humanize(value);
  if (typeof value === 'string') return value.length > 120 ? `${value.slice(0, 117)}…` : value;
  return JSON.stringify(value);
}
