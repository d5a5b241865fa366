import { useMemo, useState } from 'react';
import type { Job } from '../api';
import { isActive, useStoreState } from '../state';
import { JobRow } from './JobRow';

/** How many finished jobs show before "Show all". */
const SHOWN = 6;

/** What runs and what finished on this timeline (PROTOCOL.md 8), newest first; a film's steps under it. */
export function JobsPanel() {
  const list = useStoreState((s) => s.jobs.list);
  const loaded = useStoreState((s) => s.jobs.loaded);
  const supported = useStoreState((s) => s.features.includes('jobs'));
  const [all, setAll] = useState(false);
  const { top, steps } = useMemo(() => group(list), [list]);
  if (!supported && !list.length) return null;
  const running = top.filter(isActive);
  const shown = all ? top : [...running, ...top.filter((j) => !isActive(j)).slice(0, Math.max(0, SHOWN - running.length))];
  return (
    <section className="studio-panel jobs-panel" aria-label="Jobs" data-testid="jobs-panel">
      <header className="studio-head">
        <h2>Jobs</h2>
        {running.length > 0 && (
          <span className="chip chip-busy" data-testid="jobs-running">
            <span className="dot" aria-hidden="true" />
            {running.length} running
          </span>
        )}
      </header>
      {top.length === 0 ? (
        <p className="muted small">{loaded ? 'Nothing has run on this timeline yet.' : 'Loading the jobs…'}</p>
      ) : (
        <ol className="job-list" aria-label="Jobs, newest first">
          {shown.map((job) => (
            <JobRow key={job.id} job={job} steps={steps.get(job.id)} />
          ))}
        </ol>
      )}
      {top.length > shown.length && (
        <button type="button" className="btn btn-ghost btn-small" onClick={() => setAll(true)} data-testid="jobs-all">
          Show all {top.length}
        </button>
      )}
    </section>
  );
}

/** The jobs without a parent (newest first), and the steps of each parent (oldest first, as they ran). */
function group(list: readonly Job[]): { top: Job[]; steps: Map<string, Job[]> } {
  const ids = new Set(list.map((j) => j.id));
  const top: Job[] = [];
  const steps = new Map<string, Job[]>();
  for (const job of list) {
    if (job.parent_id && ids.has(job.parent_id)) steps.set(job.parent_id, [job, ...(steps.get(job.parent_id) ?? [])]);
    else top.push(job);
  }
  return { top, steps };
}
