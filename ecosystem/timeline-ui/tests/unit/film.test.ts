import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isProjectName, projectFromLocation } from '../../src/api';
import { DEFAULT_EXPORT, exportParams, TimelineStore } from '../../src/state';
import { A, answer, settle, startStore } from './collabHarness';
import { FakeSocket, workspace } from './fakeSocket';

let store: TimelineStore | undefined;

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.reset();
});

afterEach(() => {
  store?.stop();
  store = undefined;
  vi.useRealTimers();
});

describe('export params (PROTOCOL.md 8.3)', () => {
  it('the defaults leave aspect ratio, subtitles and music to the server', () => {
    expect(exportParams(DEFAULT_EXPORT)).toEqual({ resolution: '720p', fps: 24, transition: 'cut', missing: 'still', narration: true });
  });

  it('every option the dialog sets goes out, transition_s only with a transition, music_volume only with music', () => {
    const params = exportParams({
      ...DEFAULT_EXPORT,
      resolution: '1080p',
      aspect_ratio: '9:16',
      fps: 30,
      transition: 'crossfade',
      transition_s: 1.25,
      missing: 'skip',
      narration: false,
      subtitles: 'burned',
      music: { audio_path: 'uploads/song.mp3', audio_url: '/uploads/song.mp3', name: 'song.mp3', duration_s: 30 },
      music_volume: 0.5,
    });
    expect(params).toEqual({
      resolution: '1080p',
      aspect_ratio: '9:16',
      fps: 30,
      transition: 'crossfade',
      transition_s: 1.25,
      missing: 'skip',
      narration: false,
      subtitles: 'burned',
      music: 'uploads/song.mp3',
      music_volume: 0.5,
    });
    expect(exportParams({ ...DEFAULT_EXPORT, transition: 'fade', transition_s: 7 }).transition_s).toBe(2);
    expect(exportParams({ ...DEFAULT_EXPORT, music_volume: 0.9 })).not.toHaveProperty('music_volume');
  });
});

describe('film actions', () => {
  it('Make my film without a story films the timeline as it is, with the dialog settings; Export sends them too', async () => {
    const started = await startStore([workspace(A)]);
    store = started.store;
    const socket = started.socket;
    store.film.setSettings({ transition: 'fade', transition_s: 0.8, subtitles: 'srt' });
    void store.film.makeFilm('   ');
    await settle();
    expect(socket.sentOfType('job.start')[0]).toMatchObject({
      kind: 'film',
      params: { export: { transition: 'fade', transition_s: 0.8, subtitles: 'srt' } },
    });
    expect(socket.sentOfType('job.start')[0].params).not.toHaveProperty('story');
    void store.film.exportFilm();
    void store.film.storyboard(' Once upon a time. ');
    await settle();
    const [, exported, storyboard] = socket.sentOfType('job.start');
    expect(exported).toMatchObject({ kind: 'export', params: { transition: 'fade', subtitles: 'srt', resolution: '720p' } });
    expect(storyboard).toMatchObject({ kind: 'storyboard', params: { story: 'Once upon a time.' } });
    store.film.resetSettings();
    expect(store.getState().film.settings).toEqual(DEFAULT_EXPORT);
  });

  it("a shot's narration_audio from workspace.updated shows on the card, and an older version does not undo it", async () => {
    const started = await startStore([workspace(A, { version: 3 })]);
    store = started.store;
    const audio = { url: '/media/a.wav', duration_s: 1.5, provider: 'local', voice: null, text: 'Hello.' };
    started.socket.push({ type: 'workspace.updated', workspace_id: A, changes: { narration_audio: audio }, version: 5, updated_at: 'now' });
    expect(store.view(A)!.narration_audio).toEqual(audio);
    started.socket.push({ type: 'workspace.updated', workspace_id: A, changes: { narration_audio: null }, version: 4, updated_at: 'now' });
    expect(store.view(A)!.narration_audio).toEqual(audio);
    answer(started.socket, 'job.list', { type: 'job.list_result', jobs: [] });
    await settle();
  });
});

describe('project names (PROTOCOL.md 2)', () => {
  it('takes 1-64 of [A-Za-z0-9_-] and nothing else', () => {
    expect(isProjectName('my-film_2')).toBe(true);
    expect(isProjectName('a'.repeat(64))).toBe(true);
    expect(isProjectName('a'.repeat(65))).toBe(false);
    expect(isProjectName('')).toBe(false);
    expect(isProjectName('my film')).toBe(false);
    expect(isProjectName('film/1')).toBe(false);
    expect(isProjectName('zoë')).toBe(false);
    expect(projectFromLocation('?project=bad%20name')).toBe('default');
    expect(projectFromLocation('?project=kite-film')).toBe('kite-film');
  });
});
