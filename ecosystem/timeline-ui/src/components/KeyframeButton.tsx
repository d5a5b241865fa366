import type { Workspace } from '../api';
import { isActive, jobTarget, latestJob, useCanEdit, useStore, useStoreState } from '../state';
import { JobProgress } from './JobProgress';

/** "Paint keyframe": a `keyframe` job for the shot; the picture arrives as any picture does (`workspace.updated`). */
export function KeyframeButton({ workspace }: { workspace: Workspace }) {
  const store = useStore();
  const editable = useCanEdit();
  const connected = useStoreState((s) => s.connection.state === 'open');
  const supported = useStoreState((s) => s.features.includes('jobs'));
  const target = jobTarget('keyframe', workspace.id);
  const starting = useStoreState((s) => Boolean(s.jobs.starting[target]));
  const error = useStoreState((s) => s.jobs.errors[target]);
  const job = useStoreState((s) => latestJob(s.jobs.list, 'keyframe', workspace.id));
  if (!supported) return null;
  const running = Boolean(job && isActive(job));
  const showJob = job && (running || job.status === 'failed');
  return (
    <section className="shot-job keyframe" data-testid="keyframe" aria-label="Keyframe">
      <div className="video-row">
        <button
          type="button"
          className="btn btn-small"
          data-testid="keyframe-paint"
          disabled={!editable || !connected || starting || running}
          title={!editable ? 'Read-only' : !connected ? 'Offline' : 'Paint this shot’s picture from its prompt'}
          onClick={() => void store.jobs.start('keyframe', workspace.id)}
        >
          {running ? 'Painting…' : workspace.image_url ? 'Paint keyframe again' : 'Paint keyframe'}
        </button>
      </div>
      {showJob && <JobProgress job={job} label="Keyframe" />}
      {error && (
        <p className="error-text small" role="alert" data-testid="keyframe-error">
          {error.message}
        </p>
      )}
    </section>
  );
}
