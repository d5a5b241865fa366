// From a story to a film (PROTOCOL.md 8), offline: the offline storyboard, the local painter, the local voice,
// the local video renderer and the ffmpeg export of a real server. Also the export dialog, a shot's keyframe and
// narration, the project picker, and the README picture docs/film.png (only with UPDATE_DOCS_SCREENSHOT=1).
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { addCard, card, cards, expect, openTab, picture, test, uploadPicture } from './fixtures';
import { ARTIFACTS, REPO_ROOT } from './server';

const STORY = 'A red kite climbs over the sea at dawn. The wind carries it over a dark forest. At night it lands on a city roof.';
const FILM_TIMEOUT = 240_000;

/** The row of job `id` in a tab's jobs panel. */
function jobRow(page: Page, id: string): Locator {
  return page.getByTestId('jobs-panel').locator(`[data-testid="job-row"][data-job-id="${id}"]`);
}

/** A row's own progress (not its steps'). */
function own(row: Locator, testId: string): Locator {
  return row.locator(`:scope > [data-testid="job-progress"] [data-testid="${testId}"]`);
}

/** The id of the newest top-level job of `kind` in a tab's jobs panel, once there is one. */
async function newestJobId(page: Page, kind: string): Promise<string> {
  const row = page.locator(`[data-testid="jobs-panel"] .job-list > [data-testid="job-row"][data-kind="${kind}"]`).first();
  await expect(row).toBeVisible();
  return (await row.getAttribute('data-job-id'))!;
}

/** The film player's state, read in the page. */
function playerState(page: Page) {
  return page.getByTestId('film-player').evaluate((v: HTMLVideoElement) => ({ readyState: v.readyState, duration: v.duration }));
}

async function expectPlayableFilm(page: Page): Promise<void> {
  await expect(page.getByTestId('film-player')).toBeVisible();
  await expect.poll(async () => (await playerState(page)).readyState, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
  expect((await playerState(page)).duration).toBeGreaterThan(0);
}

/** A WAV file (mono, 16-bit PCM) of a `seconds` long sine tone: a music track made in the test. */
function tone(seconds: number, hz = 440, rate = 8000): Buffer {
  const samples = Math.round(seconds * rate);
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0);
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVEfmt ', 8);
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 2, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36);
  wav.writeUInt32LE(samples * 2, 40);
  for (let i = 0; i < samples; i++) wav.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * hz * i) / rate)), 44 + i * 2);
  return wav;
}

test.describe('story to film', () => {
  test('Make my film turns a short story into a playing film; a second tab follows the same job', async ({ tabs, server, project, shot }, testInfo) => {
    test.setTimeout(FILM_TIMEOUT + 60_000);
    const { a, b } = tabs;
    await expect(a.getByTestId('studio')).toBeVisible();
    await a.getByTestId('story-input').fill(STORY);
    await shot(a, 'story written');
    const started = Date.now();
    await a.getByTestId('make-film').click();
    const filmId = await newestJobId(a, 'film');

    // The other tab shows the same job, with its progress and stage live from job.status_update.
    const rowB = jobRow(b, filmId);
    await expect(rowB).toBeVisible();
    await expect.poll(async () => Number(await own(rowB, 'job-bar').getAttribute('aria-valuenow').catch(() => '0')), { timeout: 120_000 }).toBeGreaterThan(0);
    await expect(own(rowB, 'job-stage')).not.toBeEmpty();
    await expect(rowB.getByTestId('job-cancel')).toBeEnabled();
    await shot(b, 'other tab follows the film');

    const rowA = jobRow(a, filmId);
    await expect(rowA).toHaveAttribute('data-status', 'completed', { timeout: FILM_TIMEOUT });
    const seconds = (Date.now() - started) / 1000;
    console.log(`[film] the film job took ${seconds.toFixed(1)} s`);
    testInfo.annotations.push({ type: 'film job seconds', description: seconds.toFixed(1) });
    await expect(rowB).toHaveAttribute('data-status', 'completed');

    // The storyboard's shots are on the timeline in both tabs, each with its painted picture and spoken narration.
    const stored = await server.workspaces(project);
    expect(stored.length).toBeGreaterThanOrEqual(2);
    expect(stored.length).toBeLessThanOrEqual(3);
    for (const page of [a, b]) await expect(cards(page)).toHaveCount(stored.length);
    for (const w of stored) {
      expect(w.image_url).toMatch(/^\/uploads\//);
      expect(w.video.status).toBe('completed');
      expect(w.narration_audio?.url).toMatch(/^\/media\//);
      await expect(card(a, w.id).getByTestId('field-narration')).toHaveValue(w.form_data.narration);
      await expect(card(a, w.id).getByTestId('narration-audio')).toHaveAttribute('src', w.narration_audio.url);
    }

    // The film plays in the page (both tabs), with its MP4, SRT and OTIO.
    for (const page of [a, b]) await expectPlayableFilm(page);
    const links = {
      mp4: await a.getByTestId('film-mp4').getAttribute('href'),
      srt: await a.getByTestId('film-srt').getAttribute('href'),
      otio: await a.getByTestId('film-otio').getAttribute('href'),
    };
    expect(links.mp4).toMatch(/^\/media\/.+\.mp4$/);
    expect(links.srt).toMatch(/^\/media\/.+\.srt$/);
    expect(links.otio).toMatch(/^\/media\/.+\.otio$/);
    const mp4 = await a.request.get(`${server.url}${links.mp4}`);
    expect(mp4.status()).toBe(200);
    expect((await mp4.body()).length).toBeGreaterThan(10_000);
    const srt = await (await a.request.get(`${server.url}${links.srt}`)).text();
    expect(srt).toContain('-->');
    expect(srt).toContain('kite');
    const otio = (await (await a.request.get(`${server.url}${links.otio}`)).json()) as { OTIO_SCHEMA?: string };
    expect(otio.OTIO_SCHEMA).toMatch(/^Timeline/);
    await shot(a, 'film ready');
  });

  test('a shot paints its keyframe and speaks its narration; the other tab sees both', async ({ tabs, server, project, shot }) => {
    const { a, b } = tabs;
    const id = await addCard(a);
    const c = card(a, id);
    await c.getByTestId('field-prompt').fill('a lighthouse in a storm, waves breaking');
    await expect(c.getByTestId('narration-speak')).toBeDisabled(); // nothing to say yet
    await c.getByTestId('field-narration').fill('The lighthouse keeps watch through the night.');
    await expect(c.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
    await expect(card(b, id).getByTestId('field-narration')).toHaveValue('The lighthouse keeps watch through the night.');

    await c.getByTestId('keyframe-paint').click();
    for (const page of [a, b]) {
      const thumb = card(page, id).getByTestId('thumbnail');
      await expect(thumb).toBeVisible({ timeout: 60_000 });
      await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBeGreaterThan(100);
    }

    await c.getByTestId('narration-speak').click();
    for (const page of [a, b]) {
      const audio = card(page, id).getByTestId('narration-audio');
      await expect(audio).toBeVisible({ timeout: 60_000 });
      await expect.poll(() => audio.evaluate((el: HTMLAudioElement) => el.duration || 0), { timeout: 20_000 }).toBeGreaterThan(0.5);
    }
    const [stored] = await server.workspaces(project);
    expect(stored.image_url).toMatch(/^\/uploads\//);
    expect(stored.narration_audio.text).toBe('The lighthouse keeps watch through the night.');
    const kinds = await a.locator('[data-testid="jobs-panel"] .job-list > [data-testid="job-row"]').evaluateAll((rows) =>
      rows.map((r) => `${(r as HTMLElement).dataset.kind}:${(r as HTMLElement).dataset.status}`),
    );
    expect(kinds).toEqual(['narration:completed', 'keyframe:completed']);
    await shot(a, 'keyframe and voice');
  });

  test('the export dialog starts an export with its options and a music track, with live progress', async ({ tabs, server, project, shot }) => {
    test.setTimeout(150_000);
    const { a } = tabs;
    const id = await addCard(a);
    await uploadPicture(a, id, await picture(a, 'forest', 1280, 720));
    await expect(card(a, id).getByTestId('thumbnail')).toBeVisible();
    await card(a, id).getByTestId('field-duration_s').fill('2');
    await expect(card(a, id).getByTestId('save-state')).toHaveAttribute('data-state', 'saved');

    await a.getByTestId('export-open').click();
    const dialog = a.getByTestId('export-dialog');
    await expect(dialog).toBeVisible();
    await expect(dialog.getByTestId('export-resolution')).toHaveValue('720p');
    await expect(dialog.getByTestId('export-transition_s')).toBeDisabled(); // a cut has no length
    await dialog.getByTestId('export-aspect_ratio').selectOption('1:1');
    await dialog.getByTestId('export-fps').selectOption('25');
    await dialog.getByTestId('export-subtitles').selectOption('none');
    await dialog.getByTestId('music-input').setInputFiles({ name: 'tone.wav', mimeType: 'audio/wav', buffer: tone(3) });
    await expect(dialog.getByTestId('music-name')).toContainText('tone.wav', { timeout: 20_000 });
    await dialog.getByTestId('export-music_volume').fill('0.5');
    await shot(a, 'export options');
    await dialog.getByTestId('export-start').click();

    const status = dialog.getByTestId('export-status');
    await expect(status).toBeVisible();
    await expect(status.getByTestId('job-progress')).toHaveAttribute('data-status', 'completed', { timeout: 120_000 });
    await expect(status.getByTestId('film-mp4')).toBeVisible();
    await expect(status.getByTestId('film-srt')).toHaveCount(0); // subtitles: none
    await expect(status.getByTestId('film-otio')).toBeVisible();
    await shot(a, 'export done');

    const jobs = (await (await a.request.get(`${server.url}/api/jobs?project=${project}`)).json()) as {
      jobs: Array<{ kind: string; params: Record<string, unknown>; result: Record<string, unknown> }>;
    };
    const exported = jobs.jobs.find((j) => j.kind === 'export')!;
    expect(exported.params).toMatchObject({ aspect_ratio: '1:1', fps: 25, subtitles: 'none', music_volume: 0.5 });
    expect(exported.params.music).toMatch(/^uploads\//);
    expect(exported.result.srt_url).toBeNull();

    await dialog.getByTestId('export-close').click();
    await expectPlayableFilm(a);
    const size = await a.getByTestId('film-player').evaluate((v: HTMLVideoElement) => [v.videoWidth, v.videoHeight]);
    expect(size).toEqual([720, 720]);
  });

  test('the project picker lists the timelines, opens one and creates one by name', async ({ browser, server, project, shot }) => {
    const page = await openTab(browser, server.url, project);
    await addCard(page);
    await page.getByTestId('project-picker-open').click();
    const picker = page.getByTestId('project-picker');
    const item = (name: string) => picker.locator(`[data-testid="project-item"][data-project="${name}"]`);
    await expect(item(project)).toBeVisible();
    await expect(item(project)).toHaveAttribute('aria-current', 'page');
    await expect(item(project)).toContainText('1 shot');

    const name = picker.getByTestId('project-new-name');
    await name.fill('not a name!');
    await expect(picker.getByTestId('project-create')).toBeDisabled();
    await expect(name).toHaveAttribute('aria-invalid', 'true');
    await name.fill('x'.repeat(64));
    await expect(picker.getByTestId('project-create')).toBeEnabled();
    const fresh = `${project.slice(0, 40)}-new`;
    await name.fill(fresh);
    await shot(page, 'picker');
    await picker.getByTestId('project-create').click();
    await expect(page).toHaveURL(new RegExp(`[?&]project=${fresh}(&|$)`));
    await expect(page.getByTestId('project-name')).toHaveText(fresh);
    await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
    await expect(cards(page)).toHaveCount(0);
    await addCard(page);
    await addCard(page);

    await page.getByTestId('project-picker-open').click();
    await expect(item(fresh)).toContainText('2 shots');
    const names = await picker.getByTestId('project-item').evaluateAll((els) => els.map((el) => (el as HTMLElement).dataset.project));
    expect(names.indexOf(fresh)).toBeLessThan(names.indexOf(project)); // most recently changed first
    await item(project).click();
    await expect(page).toHaveURL(new RegExp(`[?&]project=${project}(&|$)`));
    await expect(page.getByTestId('project-name')).toHaveText(project);
    await expect(cards(page)).toHaveCount(1);
    await page.context().close();
  });
});

test('README screenshot: a story made into a film @readme', async ({ browser, server }) => {
  test.setTimeout(FILM_TIMEOUT + 60_000);
  const page = await openTab(browser, server.url, 'kite-story');
  await page.setViewportSize({ width: 1440, height: 1240 });
  await page.getByTestId('story-input').fill(STORY);
  await page.getByTestId('make-film').click();
  const filmId = await newestJobId(page, 'film');
  await expect(jobRow(page, filmId)).toHaveAttribute('data-status', 'completed', { timeout: FILM_TIMEOUT });
  await expectPlayableFilm(page);
  await jobRow(page, filmId).getByTestId('job-steps').locator('summary').click(); // the film's steps, as they ran
  await expect(jobRow(page, filmId).getByTestId('job-steps').getByTestId('job-row')).toHaveCount(8);
  const player = page.getByTestId('film-player');
  await player.evaluate(async (v: HTMLVideoElement) => {
    v.pause();
    const seeked = new Promise((done) => v.addEventListener('seeked', done, { once: true }));
    v.currentTime = Math.min(2.5, v.duration / 3);
    await seeked;
  });
  for (const thumb of await page.getByTestId('video-player').all()) {
    await thumb.evaluate((v: HTMLVideoElement) => {
      v.pause();
      v.currentTime = Math.min(1, v.duration / 2);
    });
  }
  await page.mouse.move(0, 0);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.waitForTimeout(400);
  const out = join(ARTIFACTS, 'film.png');
  await page.screenshot({ path: out });
  if (process.env.UPDATE_DOCS_SCREENSHOT === '1') {
    const docs = join(REPO_ROOT, 'docs', 'film.png');
    mkdirSync(dirname(docs), { recursive: true });
    copyFileSync(out, docs);
  }
  await page.context().close();
});
