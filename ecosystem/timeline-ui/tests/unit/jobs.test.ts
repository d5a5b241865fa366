import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Job } from '../../src/api';
import { finishedFilm, isNewer, jobTarget, latestJob, mergeJobs, TimelineStore } from '../../src/state';
import { A, answer, ready, settle, startStore } from './collabHarness';
import { FakeSocket, workspace } from './fakeSocket';

/** A JWT-shaped viewer token (the UI reads its payload only). */
const VIEWER = `e30.${Buffer.from(JSON.stringify({ sub: 'v', role: 'viewer', exp: 2_000_000_000 })).toString('base64url')}.c2ln`;

function job(id: string, fields: Partial<Job> = {}): Job {
  return {
    id,
    project: 'p',
    kind: 'export',
    workspace_id: null,
    parent_id: null,
    status: 'queued',
    progress: 0,
    stage: null,
    params: {},
    result: null,
    error: null,
    created_at: '2026-12-01T10:00:00Z',
    updated_at: '2026-12-01T10:00:00Z',
    finished_at: null,
    ...fields,
  };
}

const J1 = '1'.repeat(24);
const J2 = '2'.repeat(24);
const J3 = '3'.repeat(24);

let store: TimelineStore | undefined;

async function start(options: Parameters<typeof startStore>[1] = {}) {
  const started = await startStore([workspace(A, { form_data: { narration: 'old words' } })], options);
  store = started.store;
  return started;
}

const jobs = () => store!.getState().jobs;
const ids = () => jobs().list.map((j) => j.id);

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.reset();
});

afterEach(() => {
  store?.stop();
  store = undefined;
  vi.useRealTimers();
});

describe('the job list', () => {
  it('asks job.list after workspace.list on connect and shows the jobs newest first', async () => {
    const { socket } = await start();
    expect(socket.sent.map((m) => m.type).filter((t) => t !== 'presence.update')).toEqual(['workspace.list', 'job.list']);
    expect(jobs().loaded).toBe(false);
    answer(socket, 'job.list', {
      type: 'job.list_result',
      jobs: [job(J1, { created_at: '2026-12-01T10:00:00Z' }), job(J2, { created_at: '2026-12-01T10:05:00Z' })],
    });
    await settle();
    expect(jobs().loaded).toBe(true);
    expect(ids()).toEqual([J2, J1]);
  });

  it('sends no job.list to a server without the jobs feature', async () => {
    const { socket } = await start({ features: ['presence'] });
    expect(socket.sentOfType('job.list')).toHaveLength(0);
    expect(jobs().loaded).toBe(false);
  });

  it('merges job.status_update events by id: a new job goes first, an older copy never overwrites a newer one', async () => {
    const { socket } = await start();
    answer(socket, 'job.list', { type: 'job.list_result', jobs: [job(J1, { status: 'running', progress: 40, updated_at: '2026-12-01T10:00:10Z' })] });
    await settle();
    socket.push({ type: 'job.status_update', job: job(J1, { status: 'running', progress: 60, stage: 'rendering shot 2 of 3', updated_at: '2026-12-01T10:00:20Z' }) });
    expect(jobs().list[0]).toMatchObject({ id: J1, progress: 60, stage: 'rendering shot 2 of 3' });
    socket.push({ type: 'job.status_update', job: job(J1, { status: 'running', progress: 50, updated_at: '2026-12-01T10:00:15Z' }) }); // late
    expect(jobs().list[0].progress).toBe(60);
    socket.push({ type: 'job.status_update', job: job(J2, { kind: 'film', created_at: '2026-12-01T10:01:00Z', updated_at: '2026-12-01T10:01:00Z' }) });
    expect(ids()).toEqual([J2, J1]);
    socket.push({ type: 'job.status_update', job: job(J1, { status: 'completed', progress: 100, updated_at: '2026-12-01T10:00:30Z', result: { url: '/media/f.mp4' } }) });
    expect(jobs().list.find((j) => j.id === J1)).toMatchObject({ status: 'completed', progress: 100 });
    expect(jobs().list).toHaveLength(2);
  });

  it('an event that arrives before the list answer is not undone by the older list', async () => {
    const { socket } = await start();
    socket.push({ type: 'job.status_update', job: job(J1, { status: 'completed', progress: 100, updated_at: '2026-12-01T10:00:30Z' }) });
    answer(socket, 'job.list', { type: 'job.list_result', jobs: [job(J1, { status: 'running', progress: 90, updated_at: '2026-12-01T10:00:29Z' })] });
    await settle();
    expect(jobs().list).toEqual([expect.objectContaining({ id: J1, status: 'completed' })]);
  });

  it('lists again after a reconnect: a job that finished while the tab was away shows as finished', async () => {
    const { socket: first } = await start();
    answer(first, 'job.list', { type: 'job.list_result', jobs: [job(J1, { status: 'running', progress: 30, updated_at: '2026-12-01T10:00:10Z' })] });
    await settle();
    first.drop(1006);
    vi.advanceTimersByTime(600); // the reconnect backoff (500 ms with jitter)
    const second = FakeSocket.last;
    expect(second).not.toBe(first);
    ready(second, 'c_me2');
    second.answerList([workspace(A)]);
    await settle();
    expect(second.sentOfType('job.list')).toHaveLength(1);
    answer(second, 'job.list', {
      type: 'job.list_result',
      jobs: [
        job(J2, { created_at: '2026-12-01T10:02:00Z', updated_at: '2026-12-01T10:02:00Z' }),
        job(J1, { status: 'completed', progress: 100, updated_at: '2026-12-01T10:01:00Z' }),
      ],
    });
    await settle();
    expect(ids()).toEqual([J2, J1]);
    expect(jobs().list[1].status).toBe('completed');
  });
});

describe('start and cancel', () => {
  it('job.start carries a message id, the kind and the params, and no workspace_id for a film', async () => {
    const { socket } = await start();
    const pending = store!.film.makeFilm('  A kite. It flies.  ');
    await settle();
    const [sent] = socket.sentOfType('job.start');
    expect(sent.id).toMatch(/^j_/);
    expect(sent).toEqual({
      type: 'job.start',
      id: sent.id,
      kind: 'film',
      params: { story: 'A kite. It flies.', export: { resolution: '720p', fps: 24, transition: 'cut', missing: 'still', narration: true } },
    });
    expect(jobs().starting.film).toBe(true);
    answer(socket, 'job.start', { type: 'job.status_update', job: job(J1, { kind: 'film' }) });
    await expect(pending).resolves.toMatchObject({ id: J1 });
    expect(jobs().starting.film).toBeUndefined();
    expect(ids()).toEqual([J1]);
  });

  it('a shot job sends the shot draft first, then job.start with workspace_id', async () => {
    const { socket } = await start();
    store!.edit(A, { form_data: { narration: 'new words' } });
    void store!.jobs.start('narration', A);
    await settle();
    expect(socket.sentOfType('workspace.update')).toHaveLength(1);
    expect(socket.sentOfType('job.start')).toHaveLength(0); // waits for the draft's confirmation
    answer(socket, 'workspace.update', { type: 'workspace.sync_confirm', workspace_id: A, version: 2, updated_at: 'now' });
    await settle();
    const [sent] = socket.sentOfType('job.start');
    expect(sent).toMatchObject({ kind: 'narration', workspace_id: A });
    expect(sent).not.toHaveProperty('params');
    expect(socket.sentOfType('workspace.update')[0]).toMatchObject({ updates: { form_data: { narration: 'new words' } } });
  });

  it.each([
    ['invalid_message', 'params.story: too long', 'Cannot start this: params.story: too long'],
    ['conflict', 'an export of this project is already running', 'Already under way: an export of this project is already running'],
    ['unavailable', 'TTS provider elevenlabs has no API key', 'Not available right now: TTS provider elevenlabs has no API key'],
  ])('a %s refusal is kept in words by its target, and cleared by the next start', async (code, message, shown) => {
    const { socket } = await start();
    const pending = store!.jobs.start('export', undefined, {});
    await settle();
    answer(socket, 'job.start', { type: 'error', code, message });
    await expect(pending).resolves.toBeUndefined();
    expect(jobs().errors.export).toEqual({ code, message: shown });
    expect(jobs().starting.export).toBeUndefined();
    expect(socket.sentOfType('job.start')).toHaveLength(1); // not retried (it could start a second job)
    void store!.jobs.start('export');
    await settle();
    expect(jobs().errors.export).toBeUndefined();
  });

  it('offline, a start fails at once with a sentence and sends nothing later', async () => {
    const { socket } = await start();
    socket.drop(1006);
    await store!.jobs.start('keyframe', A);
    expect(jobs().errors[jobTarget('keyframe', A)]?.message).toMatch(/offline/i);
    vi.advanceTimersByTime(600);
    ready(FakeSocket.last, 'c_me2');
    await settle();
    expect(FakeSocket.last.sentOfType('job.start')).toHaveLength(0);
  });

  it('cancel sends job.cancel with job_id and shows the cancelled job; a refused cancel keeps its error by job id', async () => {
    const { socket } = await start();
    socket.push({ type: 'job.status_update', job: job(J1, { status: 'running', progress: 20 }) });
    const pending = store!.jobs.cancel(J1);
    await settle();
    const [sent] = socket.sentOfType('job.cancel');
    expect(sent).toEqual({ type: 'job.cancel', id: sent.id, job_id: J1 });
    expect(jobs().cancelling[J1]).toBe(true);
    answer(socket, 'job.cancel', { type: 'job.status_update', job: job(J1, { status: 'cancelled', progress: 20, updated_at: '2026-12-01T10:00:05Z' }) });
    await pending;
    expect(jobs().list[0].status).toBe('cancelled');
    expect(jobs().cancelling[J1]).toBeUndefined();

    const again = store!.jobs.cancel(J1);
    await settle();
    answer(socket, 'job.cancel', { type: 'error', code: 'conflict', message: 'the job is already finished' });
    await again;
    expect(jobs().errors[J1]).toEqual({ code: 'conflict', message: 'Already under way: the job is already finished' });
  });

  it("a viewer's store sends no job.start or job.cancel, yet follows the jobs", async () => {
    const { socket } = await start({ token: () => VIEWER });
    await store!.film.makeFilm('A story.');
    await store!.jobs.start('keyframe', A);
    await store!.jobs.cancel(J1);
    expect(socket.sentOfType('job.start')).toHaveLength(0);
    expect(socket.sentOfType('job.cancel')).toHaveLength(0);
    expect(store!.getState().notice).toMatch(/Read-only/);
    socket.push({ type: 'job.status_update', job: job(J1, { status: 'running' }) });
    expect(ids()).toEqual([J1]);
  });
});

describe('job helpers', () => {
  it('isNewer: later updated_at; at the same time a final status, then more progress', () => {
    expect(isNewer(job(J1, { updated_at: '2026-12-01T10:00:01Z' }), job(J1))).toBe(true);
    expect(isNewer(job(J1), job(J1, { updated_at: '2026-12-01T10:00:01Z' }))).toBe(false);
    expect(isNewer(job(J1, { status: 'completed' }), job(J1, { status: 'running', progress: 99 }))).toBe(true);
    expect(isNewer(job(J1, { status: 'running', progress: 50 }), job(J1, { status: 'running', progress: 40 }))).toBe(true);
    expect(isNewer(job(J1, { status: 'running', progress: 40 }), job(J1, { status: 'running', progress: 40 }))).toBe(false);
  });

  it('mergeJobs returns the same list when nothing is newer', () => {
    const list = mergeJobs([], [job(J1)]);
    expect(mergeJobs(list, [job(J1)])).toBe(list);
  });

  it('latestJob and finishedFilm pick the newest of their kind', () => {
    const list = mergeJobs(
      [],
      [
        job(J1, { kind: 'export', status: 'completed', result: { url: '/media/old.mp4' }, created_at: '2026-12-01T10:00:00Z' }),
        job(J2, { kind: 'film', status: 'completed', result: { url: '/media/new.mp4' }, created_at: '2026-12-01T10:01:00Z' }),
        job(J3, { kind: 'export', status: 'running', created_at: '2026-12-01T10:02:00Z' }),
        job('4'.repeat(24), { kind: 'keyframe', workspace_id: A, created_at: '2026-12-01T10:03:00Z' }),
      ],
    );
    expect(finishedFilm(list)?.id).toBe(J2);
    expect(latestJob(list, 'export')?.id).toBe(J3);
    expect(latestJob(list, 'keyframe', A)?.id).toBe('4'.repeat(24));
    expect(latestJob(list, 'keyframe', 'other')).toBeUndefined();
    expect(finishedFilm(mergeJobs([], [job(J3, { status: 'failed' })]))).toBeUndefined();
  });
});
