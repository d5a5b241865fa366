import type { Job } from '../api';
import { isActive } from '../state';
import { JOB_STATUS_LABEL, JOB_STATUS_TONE } from './jobLabels';

/** A job's status chip, its progress bar while it runs, its stage, and its error when it failed. */
export function JobProgress({ job, label }: { job: Job; label: string }) {
  const running = isActive(job);
  const progress = Math.max(0, Math.min(100, job.progress ?? 0));
  return (
    <div className="job-progress" data-testid="job-progress" data-status={job.status}>
      <div className="job-progress-row">
        <span className={`chip chip-${JOB_STATUS_TONE[job.status]}`} data-testid="job-status">
          <span className="dot" aria-hidden="true" />
          {JOB_STATUS_LABEL[job.status]}
          {job.status === 'running' ? ` ${progress}%` : ''}
        </span>
        {job.stage && running && (
          <span className="muted small job-stage" data-testid="job-stage">
            {job.stage}
          </span>
        )}
      </div>
      {running && (
        <div
          className={`progress${job.status === 'queued' ? ' indeterminate' : ''}`}
          role="progressbar"
          aria-label={`${label} progress`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={progress}
          data-testid="job-bar"
        >
          <div className="progress-bar" style={{ width: `${job.status === 'queued' ? 30 : progress}%` }} />
        </div>
      )}
      {job.status === 'failed' && job.error && (
        <p className="error-text" role="alert" data-testid="job-error">
          {job.error.message} <span className="muted">({job.error.code})</span>
        </p>
      )}
    </div>
  );
}
