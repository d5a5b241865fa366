// Issue 15 items 11-13 against a real server: the Saved chip fades and never covers the title, an applied AI
// suggestion stays "Applied" after a reload, and a field another tab changed flashes.
import { addCard, card, expect, expectLive, openTab, test } from './fixtures';

test('the Saved chip fades after a moment and never clips or covers the title', async ({ tabs: { a }, shot }) => {
  const id = await addCard(a);
  const c = card(a, id);
  const title = c.getByTestId('field-title');
  const chip = c.getByTestId('save-state');
  await title.fill('Ridge at sunset');
  await expect(chip).toHaveAttribute('data-state', 'saved');
  await expect(chip).toBeVisible();
  await expect(chip).toHaveText('Saved');
  await shot(a, 'saved chip and the full title');

  // The whole title fits in its box, and the chip's box does not overlap it.
  const fit = await title.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
  expect(fit.scroll, JSON.stringify(fit)).toBeLessThanOrEqual(fit.client);
  const [t, k] = [(await title.boundingBox())!, (await chip.boundingBox())!];
  const overlap = t.x < k.x + k.width && k.x < t.x + t.width && t.y < k.y + k.height && k.y < t.y + t.height;
  expect(overlap, JSON.stringify({ title: t, chip: k })).toBe(false);

  // ~1.5-2 s after the confirmation the chip is gone (faded, then invisible); the title is still all there.
  const savedAt = Date.now();
  await expect(chip).toHaveAttribute('data-state', 'idle', { timeout: 4_000 });
  await expect(chip).toBeHidden({ timeout: 2_000 });
  const gone = Date.now() - savedAt;
  expect(gone).toBeLessThan(4_000);
  await expect(title).toHaveValue('Ridge at sunset');
  await shot(a, 'chip gone');
});

test('an applied AI suggestion still says Applied after a reload', async ({ browser, server, project, shot }) => {
  const page = await openTab(browser, server.url, project);
  try {
    const id = await addCard(page);
    const c = card(page, id);
    await c.getByTestId('field-prompt').fill('A lighthouse on a cliff');
    await expect(c.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
    await c.getByTestId('ai-toggle').click();
    await expect(c.getByTestId('ai-apply-mode')).toBeChecked(); // "Suggest form changes": ai.suggest with apply
    await c.getByTestId('ai-input').fill('Make this shot more dramatic');
    await c.getByTestId('ai-send').click();
    const apply = c.getByTestId('ai-apply');
    await expect(apply).toBeVisible({ timeout: 30_000 });
    await expect(apply).toHaveText('Apply');
    await expect(apply).toBeEnabled();
    await apply.click();
    await expect(apply).toHaveText('Applied');
    await expect(apply).toBeDisabled();
    await expect(c.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
    // The offline assistant's "dramatic" patch (providers/llm/offline.py) is what the server stored.
    const stored = (await server.workspaces(project)).find((w) => w.id === id)!;
    expect(stored.form_data).toMatchObject({ camera_movement: 'push_in', shot_size: 'close_up', lighting: 'low_key' });

    await page.reload();
    await expectLive(page);
    const again = card(page, id);
    await again.getByTestId('ai-toggle').click();
    const after = again.getByTestId('ai-apply');
    await expect(after).toHaveText('Applied');
    await expect(after).toBeDisabled();
    await shot(page, 'applied after reload');

    // It follows the form: once a suggested value is changed, the suggestion can be applied again.
    await again.getByTestId('field-camera_movement').selectOption('static');
    await expect(after).toHaveText('Apply');
    await expect(after).toBeEnabled();
  } finally {
    await page.context().close();
  }
});

test('a field another tab changed flashes for a moment', async ({ tabs: { a, b }, shot }) => {
  const id = await addCard(a);
  await expect(card(b, id)).toBeVisible();
  const cameraA = card(a, id).getByTestId('field-camera_movement');
  await expect(cameraA).not.toHaveClass(/\bflash\b/);

  await card(b, id).getByTestId('field-camera_movement').selectOption('pan_left');
  await expect(cameraA).toHaveValue('pan_left');
  await expect(cameraA).toHaveClass(/\bflash\b/);
  await expect(cameraA).toHaveAttribute('title', 'Changed in another tab');
  await expect(card(a, id).locator('label', { hasText: 'Camera' })).toHaveCSS('color', 'rgb(242, 181, 68)'); // --warn
  await expect(card(a, id).getByTestId('flash-announce')).toHaveText('Camera changed in another tab');
  await shot(a, 'camera flashes in tab A');
  // Only the changed field, and not in the tab that made the change.
  await expect(card(a, id).getByTestId('field-prompt')).not.toHaveClass(/\bflash\b/);
  await expect(card(b, id).getByTestId('field-camera_movement')).not.toHaveClass(/\bflash\b/);
  // ~1.5 s later the highlight is gone.
  await expect(cameraA).not.toHaveClass(/\bflash\b/, { timeout: 4_000 });
  await expect(card(a, id).getByTestId('flash-announce')).toHaveText('');

  // The title too.
  await card(b, id).getByTestId('field-title').fill('Harbour at dawn');
  const titleA = card(a, id).getByTestId('field-title');
  await expect(titleA).toHaveValue('Harbour at dawn');
  await expect(titleA).toHaveClass(/\bflash\b/);
  await expect(titleA).not.toHaveClass(/\bflash\b/, { timeout: 4_000 });
});
