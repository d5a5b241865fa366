// The jobs of the project (PROTOCOL.md 8): `job.list` on every connect to a server that has them, then every
// `job.status_update` merged by id (newest first). Start and cancel go out with message ids; a refusal
// (`invalid_message`, `conflict`, `unavailable`, ...) is kept in words for the UI, by what it was for.
import { newMessageId, RequestError, type Job, type ServerMessage, type WorkspaceClient } from '../api';
import type { StateCell } from './cell';
import { describe } from './describe';

export type JobKind = 'storyboard' | 'keyframe' | 'narration' | 'export' | 'film';
export type JobStatus = Job['status'];

export interface JobError {
  code: string;
  message: string;
}

export interface JobsState {
  /** Newest first. */
  list: readonly Job[];
  /** A `job.list` was answered since the page opened. */
  loaded: boolean;
  /** Starts waiting for their reply, by target (`jobTarget`). */
  starting: Readonly<Record<string, true>>;
  /** Cancels waiting for their reply, by job id. */
  cancelling: Readonly<Record<string, true>>;
  /** The last refusal of a start (by target) or of a cancel (by job id). */
  errors: Readonly<Record<string, JobError>>;
}

export const noJobs: JobsState = { list: [], loaded: false, starting: {}, cancelling: {}, errors: {} };

const FINAL: ReadonlySet<string> = new Set(['completed', 'failed', 'cancelled']);

export function isFinal(status: JobStatus): boolean {
  return FINAL.has(status);
}

export function isActive(job: Job): boolean {
  return !FINAL.has(job.status);
}

/** What a start is for: its kind, and its shot for `keyframe` and `narration`. */
export function jobTarget(kind: string, workspaceId?: string | null): string {
  return workspaceId ? `${kind}:${workspaceId}` : kind;
}

const time = (iso: string | null | undefined) => {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? 0 : t;
};

/** Whether copy `a` of a job is newer than copy `b`: later `updated_at`; at the same time a final status, then more progress. */
export function isNewer(a: Job, b: Job): boolean {
  const ta = time(a.updated_at);
  const tb = time(b.updated_at);
  if (ta !== tb) return ta > tb;
  if (isFinal(a.status) !== isFinal(b.status)) return isFinal(a.status);
  return a.progress > b.progress;
}

/** Newest first: by `created_at`, then by id (ObjectIds grow with time). */
function newestFirst(a: Job, b: Job): number {
  return time(b.created_at) - time(a.created_at) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** `incoming` merged into `list` by id, the newer copy of each job kept; newest first. */
export function mergeJobs(list: readonly Job[], incoming: readonly Job[]): readonly Job[] {
  const byId = new Map(list.map((job) => [job.id, job]));
  let changed = false;
  for (const job of incoming) {
    const known = byId.get(job.id);
    if (known && !isNewer(job, known)) continue;
    byId.set(job.id, job);
    changed = true;
  }
  return changed ? [...byId.values()].sort(newestFirst) : list;
}

/** The newest job of `kind` (for shot `workspaceId`, when given). */
export function latestJob(list: readonly Job[], kind: JobKind, workspaceId?: string): Job | undefined {
  return list.find((job) => job.kind === kind && (workspaceId === undefined || job.workspace_id === workspaceId));
}

/** The finished film: the result of the newest completed `export` or `film` job that has one. */
export function finishedFilm(list: readonly Job[]): Job | undefined {
  return list.find(
    (job) => (job.kind === 'export' || job.kind === 'film') && job.status === 'completed' && typeof job.result?.url === 'string',
  );
}

/** A refusal in words: the server's reason, with what it means for the user first. */
export function describeJobError(error: unknown): JobError {
  const code = error instanceof RequestError ? error.code : 'error';
  const text = describe(error);
  switch (code) {
    case 'conflict':
      return { code, message: `Already under way: ${text}` };
    case 'unavailable':
      return { code, message: `Not available right now: ${text}` };
    case 'invalid_message':
      return { code, message: `Cannot start this: ${text}` };
    case 'not_found':
      return { code, message: `Not found: ${text}` };
    default:
      return { code, message: text };
  }
}

export interface JobOptions {
  /** True (and the store says why) when the tab's token may not change the timeline. */
  readOnly: () => boolean;
  /** Send a shot's draft now (the narration or prompt typed just now goes before its job). */
  flush: (workspaceId: string) => Promise<void>;
}

export class JobActions {
  /** A `job.list` is on its way (a retried one goes out again after a reconnect by itself). */
  private listing = false;

  constructor(
    private readonly cell: StateCell,
    private readonly client: WorkspaceClient,
    private readonly options: JobOptions,
  ) {}

  private get state(): JobsState {
    return this.cell.get().jobs;
  }

  private set(patch: Partial<JobsState>): void {
    this.cell.set({ jobs: { ...this.state, ...patch } });
  }

  /** Set (or with `undefined` remove) `key` of one of the keyed records. */
  private setIn<K extends 'starting' | 'cancelling' | 'errors'>(field: K, key: string, value: JobsState[K][string] | undefined): void {
    const next = { ...this.state[field] } as Record<string, JobsState[K][string]>;
    if (value === undefined) {
      if (!(key in next)) return;
      delete next[key];
    } else next[key] = value;
    this.set({ [field]: next } as Partial<JobsState>);
  }

  /** Listen to the client; returns the unsubscribe. */
  attach(): () => void {
    return this.client.onMessage((message) => this.onMessage(message));
  }

  private onMessage(message: ServerMessage): void {
    switch (message.type) {
      case 'connection.ready':
        // Every (re)connect: what ran, finished or started while this tab was away.
        if ((message.features ?? []).includes('jobs')) void this.reload();
        return;
      case 'job.status_update':
        this.merge([message.job]);
        return;
      default:
        return;
    }
  }

  private merge(jobs: readonly Job[]): void {
    const list = mergeJobs(this.state.list, jobs);
    if (list !== this.state.list) this.set({ list });
  }

  /** Ask for the project's jobs (`job.list`) and merge them. */
  async reload(): Promise<void> {
    if (this.listing) return;
    this.listing = true;
    try {
      const reply = await this.client.request({ type: 'job.list' });
      this.set({ list: mergeJobs(this.state.list, reply.jobs), loaded: true });
    } catch {
      /* the next connect lists again */
    } finally {
      this.listing = false;
    }
  }

  /** Start a job (`job.start`); resolves with the job as stored, or undefined when refused (its error kept by target). */
  async start(kind: JobKind, workspaceId?: string, params?: Record<string, unknown>): Promise<Job | undefined> {
    if (this.options.readOnly()) return undefined;
    const target = jobTarget(kind, workspaceId);
    if (this.state.starting[target]) return undefined;
    this.setIn('errors', target, undefined);
    this.setIn('starting', target, true);
    try {
      if (workspaceId) await this.options.flush(workspaceId).catch(() => undefined);
      const reply = await this.client.request({
        type: 'job.start',
        id: newMessageId('j'),
        kind,
        ...(workspaceId ? { workspace_id: workspaceId } : {}),
        ...(params ? { params } : {}),
      });
      this.merge([reply.job]);
      return reply.job;
    } catch (error) {
      this.setIn('errors', target, describeJobError(error));
      return undefined;
    } finally {
      this.setIn('starting', target, undefined);
    }
  }

  /** Cancel a queued or running job (`job.cancel`). */
  async cancel(jobId: string): Promise<void> {
    if (this.options.readOnly()) return;
    if (this.state.cancelling[jobId]) return;
    this.setIn('errors', jobId, undefined);
    this.setIn('cancelling', jobId, true);
    try {
      const reply = await this.client.request({ type: 'job.cancel', id: newMessageId('k'), job_id: jobId });
      this.merge([reply.job]);
    } catch (error) {
      this.setIn('errors', jobId, describeJobError(error));
    } finally {
      this.setIn('cancelling', jobId, undefined);
    }
  }

  /** Forget the error shown for `key` (a target or a job id). */
  clearError(key: string): void {
    this.setIn('errors', key, undefined);
  }
}
