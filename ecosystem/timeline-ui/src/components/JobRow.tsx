import type { Job } from '../api';
import { isActive, useCanEdit, useStore, useStoreState } from '../state';
import { JobProgress } from './JobProgress';
import { kindLabel } from './jobLabels';
import { formatTime } from './labels';

/** One job of the jobs panel: kind, shot, status, progress, stage, error; Cancel while it is queued or running. */
export function JobRow({ job, steps = [] }: { job: Job; steps?: readonly Job[] }) {
  const store = useStore();
  const editable = useCanEdit();
  const connected = useStoreState((s) => s.connection.state === 'open');
  const cancelling = useStoreState((s) => Boolean(s.jobs.cancelling[job.id]));
  const error = useStoreState((s) => s.jobs.errors[job.id]);
  const shot = useShotName(job.workspace_id);
  const label = kindLabel(job.kind);
  return (
    <li className={`job-row${job.parent_id ? ' job-step' : ''}`} data-testid="job-row" data-job-id={job.id} data-kind={job.kind} data-status={job.status}>
      <div className="job-head">
        <span className="job-kind" data-testid="job-kind">
          {label}
        </span>
        {shot && (
          <span className="job-shot muted" data-testid="job-shot" title={shot}>
            · {shot}
          </span>
        )}
        <span className="spacer" />
        <span className="muted small">{formatTime(job.created_at)}</span>
        {isActive(job) && !job.parent_id && (
          <button
            type="button"
            className="btn btn-ghost btn-small"
            data-testid="job-cancel"
            aria-label={`Cancel ${label.toLowerCase()}${shot ? ` of ${shot}` : ''}`}
            disabled={!editable || !connected || cancelling}
            title={editable ? undefined : 'Read-only'}
            onClick={() => void store.jobs.cancel(job.id)}
          >
            {cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
      </div>
      <JobProgress job={job} label={label} />
      {error && (
        <p className="error-text small" role="alert" data-testid="job-request-error">
          {error.message}
        </p>
      )}
      {steps.length > 0 && (
        <details className="job-steps" data-testid="job-steps">
          <summary className="muted small">
            {steps.length} {steps.length === 1 ? 'step' : 'steps'}
          </summary>
          <ol aria-label={`Steps of the ${label.toLowerCase()}`}>
            {steps.map((step) => (
              <JobRow key={step.id} job={step} />
            ))}
          </ol>
        </details>
      )}
    </li>
  );
}

/** The title of shot `id` (or "Shot N"), when the job has one. */
function useShotName(id: string | null): string | null {
  const title = useStoreState((s) => (id ? s.timeline.byId[id]?.title : undefined));
  const index = useStoreState((s) => (id ? s.timeline.order.indexOf(id) : -1));
  if (!id) return null;
  if (title) return title;
  return index >= 0 ? `Shot ${index + 1}` : 'a deleted shot';
}
