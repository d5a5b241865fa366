import { withToken, type Workspace } from '../api';
import { isActive, jobTarget, latestJob, useCanEdit, useStore, useStoreState } from '../state';
import { JobProgress } from './JobProgress';

/** "Speak": a `narration` job for the shot's narration text; its voice plays here once the shot has `narration_audio`. */
export function NarrationPanel({ workspace }: { workspace: Workspace }) {
  const store = useStore();
  const editable = useCanEdit();
  const connected = useStoreState((s) => s.connection.state === 'open');
  const supported = useStoreState((s) => s.features.includes('jobs'));
  const target = jobTarget('narration', workspace.id);
  const starting = useStoreState((s) => Boolean(s.jobs.starting[target]));
  const error = useStoreState((s) => s.jobs.errors[target]);
  const job = useStoreState((s) => latestJob(s.jobs.list, 'narration', workspace.id));
  const audio = workspace.narration_audio;
  const url = typeof audio?.url === 'string' ? audio.url : null;
  const text = typeof workspace.form_data.narration === 'string' ? workspace.form_data.narration.trim() : '';
  if (!supported && !url) return null;
  const running = Boolean(job && isActive(job));
  const stale = Boolean(url && text && typeof audio?.text === 'string' && audio.text !== text);
  return (
    <section className="shot-job narration" data-testid="narration" aria-label="Narration voice">
      {supported && (
        <div className="video-row">
          <button
            type="button"
            className="btn btn-small"
            data-testid="narration-speak"
            disabled={!editable || !connected || !text || starting || running}
            title={!editable ? 'Read-only' : !connected ? 'Offline' : !text ? 'Write the narration to speak it' : 'Speak the narration'}
            onClick={() => void store.jobs.start('narration', workspace.id)}
          >
            {running ? 'Speaking…' : url ? 'Speak again' : 'Speak'}
          </button>
          {stale && !running && <span className="muted small">The text changed since it was spoken.</span>}
        </div>
      )}
      {job && (running || job.status === 'failed') && <JobProgress job={job} label="Narration" />}
      {url && (
        <audio className="narration-audio" controls preload="metadata" src={withToken(url)} data-testid="narration-audio" />
      )}
      {error && (
        <p className="error-text small" role="alert" data-testid="narration-error">
          {error.message}
        </p>
      )}
    </section>
  );
}
