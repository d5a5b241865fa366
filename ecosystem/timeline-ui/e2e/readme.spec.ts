// The README picture: a timeline of three filled cards (a finished video, a picture, an AI suggestion).
// Saved under test-artifacts/ on every run; written to docs/timeline.png only with UPDATE_DOCS_SCREENSHOT=1.
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { addCard, card, expect, openTab, picture, test, uploadPicture } from './fixtures';
import { ARTIFACTS, REPO_ROOT } from './server';

test('README screenshot: three filled cards @readme', async ({ browser, server }) => {
  test.setTimeout(120_000);
  const page = await openTab(browser, server.url, 'kite-film');
  await page.setViewportSize({ width: 1320, height: 1170 });
  const [first, second, third] = [await addCard(page), await addCard(page), await addCard(page)];

  const fill = async (id: string, values: Record<string, string>) => {
    const c = card(page, id);
    for (const [field, value] of Object.entries(values)) {
      const input = c.getByTestId(`field-${field}`);
      if (['camera_movement', 'shot_size', 'lighting', 'aspect_ratio'].includes(field)) await input.selectOption(value);
      else await input.fill(value);
    }
    await expect(c.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
  };

  await uploadPicture(page, first, await picture(page, 'kite', 1280, 720));
  await fill(first, {
    title: 'Kite at dawn',
    prompt: 'A red kite climbs over a calm sea at sunrise, warm haze',
    negative_prompt: 'text, watermark',
    camera_movement: 'push_in',
    shot_size: 'wide',
    lighting: 'golden_hour',
    duration_s: '2',
  });
  await uploadPicture(page, second, await picture(page, 'forest', 1280, 720));
  await fill(second, {
    title: 'Forest light',
    prompt: 'Sunbeams cut through tall pines as mist drifts between the trunks',
    camera_movement: 'crane_up',
    shot_size: 'extreme_wide',
    lighting: 'soft',
    duration_s: '4',
  });
  await fill(third, {
    title: 'City at night',
    prompt: 'Neon reflections on wet streets, a lone cyclist passes',
    camera_movement: 'pan_right',
    shot_size: 'medium',
    lighting: 'neon',
    duration_s: '3',
    aspect_ratio: '21:9',
  });

  const c1 = card(page, first);
  await c1.getByTestId('video-generate').click();
  const player = c1.getByTestId('video-player');
  await expect(player).toBeVisible({ timeout: 60_000 });
  await expect.poll(() => player.evaluate((v: HTMLVideoElement) => v.readyState)).toBeGreaterThanOrEqual(2);

  const c3 = card(page, third);
  await c3.getByTestId('ai-toggle').click();
  await c3.getByTestId('ai-input').fill('Make it feel more dramatic');
  await c3.getByTestId('ai-send').click();
  await expect(c3.getByTestId('ai-apply')).toBeVisible({ timeout: 30_000 });
  await c3.getByTestId('ai-log').evaluate((log) => log.scrollTo({ top: 0 })); // the question and the answer

  await player.evaluate((v: HTMLVideoElement) => {
    v.pause();
    v.currentTime = Math.min(1.2, v.duration - 0.1);
  });
  await page.mouse.move(0, 0);
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.waitForTimeout(300);
  const out = join(ARTIFACTS, 'timeline.png');
  await page.screenshot({ path: out });
  if (process.env.UPDATE_DOCS_SCREENSHOT === '1') {
    const docs = join(REPO_ROOT, 'docs', 'timeline.png');
    mkdirSync(dirname(docs), { recursive: true });
    copyFileSync(out, docs);
  }
  await page.context().close();
});
