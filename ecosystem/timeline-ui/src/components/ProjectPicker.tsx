import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { fetchProjects, HttpError, isProjectName, projectHref, type ProjectSummary } from '../api';
import { useStoreState } from '../state';
import { formatTime } from './labels';

/** The timelines of the server (`GET /api/projects`): open one, or start a new one by name (`?project=NAME`). */
export function ProjectPicker() {
  const project = useStoreState((s) => s.project);
  const [open, setOpen] = useState(false);
  const [projects, setProjects] = useState<ProjectSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const popup = useRef<HTMLDivElement>(null);
  const listId = useId();
  const nameId = useId();
  const hintId = useId();

  useEffect(() => {
    if (!open) return;
    let live = true;
    setError(null);
    fetchProjects()
      .then((list) => live && setProjects(list))
      .catch((e: unknown) => {
        if (!live) return;
        setError(listError(e));
      });
    return () => {
      live = false;
    };
  }, [open]);

  useEffect(() => {
    if (!open) return;
    const outside = (event: MouseEvent) => {
      if (popup.current && !popup.current.parentElement?.contains(event.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', outside);
    return () => document.removeEventListener('mousedown', outside);
  }, [open]);

  const trimmed = name.trim();
  const valid = isProjectName(trimmed);
  const create = (event: FormEvent) => {
    event.preventDefault();
    if (valid) window.location.assign(projectHref(trimmed));
  };

  return (
    <div className="project-picker">
      <button
        type="button"
        className="project"
        data-testid="project-picker-open"
        aria-haspopup="dialog"
        aria-expanded={open}
        title="Timelines of this server (?project= in the address)"
        onClick={() => setOpen(!open)}
      >
        <span data-testid="project-name">{project}</span> <span className="chevron" aria-hidden="true">▾</span>
      </button>
      {open && (
        <div
          ref={popup}
          className="project-popup"
          role="dialog"
          aria-label="Timelines"
          data-testid="project-picker"
          onKeyDown={(e) => {
            if (e.key === 'Escape') setOpen(false);
          }}
        >
          <h2 id={listId}>Timelines</h2>
          {error && (
            <p className="error-text small" role="alert" data-testid="project-error">
              {error}
            </p>
          )}
          {!projects && !error && <p className="muted small">Loading…</p>}
          {projects && projects.length === 0 && <p className="muted small">No timeline has shots yet.</p>}
          {projects && projects.length > 0 && (
            <ul className="project-list" aria-labelledby={listId}>
              {projects.map((p) => (
                <li key={p.name}>
                  <a
                    href={projectHref(p.name)}
                    className={p.name === project ? 'current' : undefined}
                    aria-current={p.name === project ? 'page' : undefined}
                    data-testid="project-item"
                    data-project={p.name}
                  >
                    <span className="project-item-name">{p.name}</span>
                    <span className="muted small">
                      {p.shots} {p.shots === 1 ? 'shot' : 'shots'}
                      {p.updated_at ? ` · ${formatTime(p.updated_at)}` : ''}
                    </span>
                  </a>
                </li>
              ))}
            </ul>
          )}
          <form className="project-new" onSubmit={create}>
            <label htmlFor={nameId} className="small muted">
              New timeline
            </label>
            <div className="project-new-row">
              <input
                id={nameId}
                data-testid="project-new-name"
                placeholder="my-film"
                maxLength={64}
                value={name}
                aria-invalid={trimmed !== '' && !valid}
                aria-describedby={hintId}
                onChange={(e) => setName(e.target.value)}
              />
              <button type="submit" className="btn btn-primary btn-small" disabled={!valid} data-testid="project-create">
                Create
              </button>
            </div>
            <span id={hintId} className={`small ${trimmed !== '' && !valid ? 'error-text' : 'muted'}`} data-testid="project-new-hint">
              {trimmed !== '' && !valid
                ? 'Use 1 to 64 letters, digits, “-” or “_”.'
                : 'Letters, digits, “-” and “_”; it is listed here once it has a shot.'}
            </span>
          </form>
        </div>
      )}
    </div>
  );
}

function listError(error: unknown): string {
  if (error instanceof HttpError) {
    if (error.status === 401) return 'The server needs an access token.';
    if (error.status === 404) return 'This server cannot list its timelines.';
  }
  return `Could not list the timelines (${error instanceof Error ? error.message : String(error)}).`;
}
