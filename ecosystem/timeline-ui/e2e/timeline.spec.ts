// Two tabs on one project against a real server (embedded database, local video renderer, offline LLM).
import {
  addCard,
  card,
  cardIds,
  cards,
  expect,
  picture,
  recordSaveStates,
  test,
  uploadPicture,
} from './fixtures';

test('a card created, inserted or deleted in one tab shows in the other', async ({ tabs: { a, b }, shot }) => {
  await shot(a, 'empty timeline');
  const first = await addCard(a);
  await expect(cards(b)).toHaveCount(1);
  expect(await cardIds(b)).toEqual([first]);
  const last = await addCard(b);
  await expect(cards(a)).toHaveCount(2);

  // Insert between the two cards.
  await a.getByTestId('insert-1').click();
  await expect(cards(a)).toHaveCount(3);
  const order = await cardIds(a);
  expect(order[0]).toBe(first);
  expect(order[2]).toBe(last);
  await expect.poll(() => cardIds(b)).toEqual(order);
  await shot(a, 'three cards in tab A');
  await shot(b, 'three cards in tab B');

  // Delete asks first.
  await card(a, order[1]).getByTestId('delete').click();
  await expect(card(a, order[1]).getByTestId('delete-confirm')).toBeVisible();
  await shot(a, 'delete confirmation');
  await card(a, order[1]).getByTestId('delete-confirm-yes').click();
  await expect.poll(() => cardIds(a)).toEqual([first, last]);
  await expect.poll(() => cardIds(b)).toEqual([first, last]);
  await shot(b, 'after delete in tab B');
});

test('typing a prompt shows saving then saved, and the other tab sees the text', async ({ tabs: { a, b }, server, project, shot }) => {
  const id = await addCard(a);
  await expect(card(b, id)).toBeVisible();
  const states = await recordSaveStates(a, id);
  const text = 'A red kite climbs over a quiet sea at dawn';
  await card(a, id).getByTestId('field-prompt').pressSequentially(text, { delay: 15 });
  await expect(card(a, id).getByTestId('save-state')).toHaveAttribute('data-state', 'editing');
  await shot(a, 'editing');
  await expect(card(a, id).getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
  const seen = await states();
  // editing while typing, saving once the 300 ms debounce sent it, saved on workspace.sync_confirm.
  expect(seen.indexOf('editing')).toBeGreaterThanOrEqual(0);
  expect(seen.indexOf('saving')).toBeGreaterThan(seen.indexOf('editing'));
  expect(seen.lastIndexOf('saved')).toBeGreaterThan(seen.lastIndexOf('saving'));
  expect(seen.at(-1)).toBe('saved');
  await shot(a, 'saved');
  await expect(card(b, id).getByTestId('field-prompt')).toHaveValue(text);
  await shot(b, 'the other tab sees the prompt');

  // Selects with the recommended values, free text, numbers: they sync too.
  await card(a, id).getByTestId('field-camera_movement').selectOption('push_in');
  await card(a, id).getByTestId('field-shot_size').selectOption('__custom__');
  await card(a, id).getByTestId('field-shot_size-custom').fill('cowboy shot');
  await card(a, id).getByTestId('field-duration_s').fill('7');
  await card(a, id).getByTestId('field-title').fill('Opening');
  await expect(card(b, id).getByTestId('field-camera_movement')).toHaveValue('push_in');
  await expect(card(b, id).getByTestId('field-shot_size-custom')).toHaveValue('cowboy shot');
  await expect(card(b, id).getByTestId('field-duration_s')).toHaveValue('7');
  await expect(card(b, id).getByTestId('field-title')).toHaveValue('Opening');
  await expect(card(a, id).getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
  const stored = (await server.workspaces(project)).find((w) => w.id === id)!;
  expect(stored.title).toBe('Opening');
  expect(stored.form_data).toMatchObject({ prompt: text, camera_movement: 'push_in', shot_size: 'cowboy shot', duration_s: 7 });
  await shot(b, 'form synced');
});

test('drag-reorder (mouse and keyboard) shows in both tabs', async ({ tabs: { a, b }, server, project, shot }) => {
  const ids = [await addCard(a), await addCard(a), await addCard(a)];
  for (const [i, id] of ids.entries()) await card(a, id).getByTestId('field-title').fill(`Shot ${'ABC'[i]}`);
  await expect.poll(() => cardIds(b)).toEqual(ids);
  await shot(a, 'before');

  // Mouse: drag the third card's handle onto the first card.
  const handle = card(a, ids[2]).getByTestId('drag-handle');
  const from = (await handle.boundingBox())!;
  const to = (await card(a, ids[0]).boundingBox())!;
  await a.mouse.move(from.x + from.width / 2, from.y + from.height / 2);
  await a.mouse.down();
  await a.mouse.move(from.x + from.width / 2 - 20, from.y + from.height / 2, { steps: 4 });
  await a.mouse.move(to.x + to.width / 2 - 40, to.y + 60, { steps: 20 });
  await shot(a, 'dragging');
  await a.mouse.up();
  const dragged = [ids[2], ids[0], ids[1]];
  await expect.poll(() => cardIds(a)).toEqual(dragged);
  await expect.poll(() => cardIds(b)).toEqual(dragged);
  await shot(b, 'after mouse drag, other tab');

  // Keyboard: focus the handle of the (now) first card, pick it up, move right once, drop.
  // Wait for dnd-kit's own signals between keys (picked up; moved over) instead of racing its sensor.
  const keyHandle = card(a, ids[2]).getByTestId('drag-handle');
  await keyHandle.focus();
  await a.keyboard.press('Space');
  await expect(keyHandle).toHaveAttribute('aria-pressed', 'true');
  await a.keyboard.press('ArrowRight');
  await expect(a.locator('[role="status"][aria-live="assertive"]').first()).toContainText(ids[0]);
  await a.keyboard.press('Space');
  await expect(keyHandle).not.toHaveAttribute('aria-pressed', 'true');
  const keyed = [ids[0], ids[2], ids[1]];
  await expect.poll(() => cardIds(a)).toEqual(keyed);
  await expect.poll(() => cardIds(b)).toEqual(keyed);
  await expect.poll(async () => (await server.workspaces(project)).map((w) => w.id)).toEqual(keyed);
  await shot(b, 'after keyboard move, other tab');
});

test('an image upload shows its thumbnail; 413 and 415 are explained', async ({ tabs: { a, b }, shot }) => {
  const id = await addCard(a);
  await uploadPicture(a, id, await picture(a, 'kite'));
  for (const page of [a, b]) {
    const thumb = card(page, id).getByTestId('thumbnail');
    await expect(thumb).toHaveAttribute('src', /\/uploads\//);
    await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(960);
  }
  await shot(a, 'thumbnail');
  await shot(b, 'thumbnail in the other tab');

  // Not PNG, JPEG or WebP (decided by content): 415.
  const gif = Buffer.from('R0lGODlhAQABAIAAAAAAAP///ywAAAAAAQABAAACAUwAOw==', 'base64');
  await uploadPicture(a, id, gif, 'tiny.gif', 'image/gif');
  await expect(card(a, id).getByTestId('upload-error')).toContainText('Unsupported file type');
  await shot(a, '415 unsupported type');
  await card(a, id).getByRole('button', { name: 'Dismiss' }).click();

  // Over MAX_UPLOAD_BYTES (2 MB in these tests): 413.
  await uploadPicture(a, id, Buffer.alloc(2_500_000, 1), 'huge.png');
  await expect(card(a, id).getByTestId('upload-error')).toContainText('too large');
  await shot(a, '413 too large');
  // The stored picture is still there.
  await expect(card(b, id).getByTestId('thumbnail')).toHaveAttribute('src', /\/uploads\//);
});

test('Generate shows progress and then a playing video of the requested length', async ({ tabs: { a, b }, shot }) => {
  const id = await addCard(a);
  const c = card(a, id);
  await expect(c.getByTestId('video-generate')).toBeDisabled(); // no picture, no prompt yet
  await uploadPicture(a, id, await picture(a, 'forest'));
  await c.getByTestId('field-prompt').fill('Sunbeams through a pine forest');
  await c.getByTestId('field-camera_movement').selectOption('push_in');
  await c.getByTestId('field-duration_s').fill('2');
  await expect(c.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
  await expect(c.getByTestId('thumbnail')).toBeVisible();
  await c.getByTestId('video-generate').click();

  // A progress bar while queued/generating, on both tabs.
  await expect(c.getByTestId('video-progress')).toBeVisible();
  await shot(a, 'generating');
  const player = c.getByTestId('video-player');
  await expect(player).toBeVisible({ timeout: 60_000 });
  await expect(c.getByTestId('video-progress')).toBeHidden();
  await expect(c.getByTestId('video-status')).toContainText('Ready');

  for (const page of [a, b]) {
    const video = card(page, id).getByTestId('video-player');
    await expect(video).toHaveAttribute('src', /\/media\/.+\.mp4/);
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    const duration = await video.evaluate((v: HTMLVideoElement) => v.duration);
    expect(duration).toBeGreaterThan(1.5);
    expect(duration).toBeLessThan(2.6);
  }
  // It plays inline: time moves on.
  const t0 = await player.evaluate((v: HTMLVideoElement) => v.currentTime);
  await expect.poll(() => player.evaluate((v: HTMLVideoElement) => !v.paused && v.currentTime !== 0)).toBe(true);
  expect(typeof t0).toBe('number');
  await shot(a, 'playing');
  await shot(b, 'playing in the other tab');
});

test('a generation can be cancelled', async ({ tabs: { a }, shot }) => {
  const id = await addCard(a);
  const c = card(a, id);
  await uploadPicture(a, id, await picture(a, 'city'));
  await c.getByTestId('field-prompt').fill('Neon city, slow orbit');
  await c.getByTestId('field-duration_s').fill('30'); // long enough to cancel in time
  await expect(c.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
  await expect(c.getByTestId('thumbnail')).toBeVisible();
  await c.getByTestId('video-generate').click();
  await c.getByTestId('video-cancel').click();
  await expect(c.getByTestId('video-panel')).toHaveAttribute('data-status', 'cancelled');
  await expect(c.getByTestId('video-status')).toContainText('Cancelled');
  await shot(a, 'cancelled');
});

test('the AI panel streams an answer, and Apply sends a suggested form patch as an update', async ({ tabs: { a, b }, server, project, shot }) => {
  const id = await addCard(a);
  const c = card(a, id);
  await c.getByTestId('field-prompt').fill('A lighthouse on a cliff');
  await expect(c.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');

  await c.getByTestId('ai-toggle').click();

  // A plain question: the answer is shown while it streams in (ai.delta), then stored in the conversation.
  await a.evaluate((wid) => {
    const log = document.querySelector(`[data-testid="card"][data-id="${wid}"] [data-testid="ai-log"]`)!;
    const seen: string[] = [];
    (window as unknown as { __streamed: string[] }).__streamed = seen;
    new MutationObserver(() => {
      const node = log.querySelector('[data-testid="ai-streaming"]');
      const text = node && !node.querySelector('.typing') ? (node.textContent ?? '') : '';
      if (text && text !== seen[seen.length - 1]) seen.push(text);
    }).observe(log, { subtree: true, childList: true, characterData: true });
  }, id);
  await c.getByTestId('ai-apply-mode').uncheck();
  await c.getByTestId('ai-input').fill('How should I light this at night?');
  await c.getByTestId('ai-send').click();
  await expect(c.getByTestId('ai-msg-assistant')).toHaveCount(1, { timeout: 30_000 });
  const answer = (await c.getByTestId('ai-msg-assistant').locator('.ai-text').textContent()) ?? '';
  const streamed = await a.evaluate(() => (window as unknown as { __streamed: string[] }).__streamed);
  // Several partial texts, each a growing prefix of the answer.
  expect(streamed.length, JSON.stringify({ streamed, answer })).toBeGreaterThan(1);
  for (const partial of streamed) expect(answer.startsWith(partial.trimEnd()), JSON.stringify({ partial, answer })).toBe(true);
  await expect(c.getByTestId('ai-patch')).toHaveCount(0);

  // A structured suggestion: Apply sends its form_data_patch as an update.
  await c.getByTestId('ai-apply-mode').check();
  await c.getByTestId('ai-input').fill('Make this shot more dramatic');
  await c.getByTestId('ai-send').click();
  const apply = c.getByTestId('ai-apply');
  await expect(apply).toBeVisible({ timeout: 30_000 });
  await expect(c.getByTestId('ai-msg-user').last()).toContainText('more dramatic');
  await shot(a, 'suggestion');

  // The other tab gets the conversation through workspace.updated.
  await card(b, id).getByTestId('ai-toggle').click();
  await expect(card(b, id).getByTestId('ai-msg-assistant')).toHaveCount(2);

  const patch = await a.evaluate((wid) => {
    const store = (window as unknown as { timeline: { view(id: string): { ai_collaboration: Array<{ form_data_patch?: Record<string, unknown> }> } } }).timeline;
    return store.view(wid).ai_collaboration.at(-1)!.form_data_patch!;
  }, id);
  expect(Object.keys(patch).length).toBeGreaterThan(0);
  await apply.click();
  await expect(apply).toHaveText('Applied');
  await expect(c.getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
  const stored = (await server.workspaces(project)).find((w) => w.id === id)!;
  expect(stored.form_data).toMatchObject(patch);
  if (typeof patch.prompt === 'string') await expect(card(b, id).getByTestId('field-prompt')).toHaveValue(patch.prompt);
  await shot(a, 'applied');
  await shot(b, 'applied, other tab');
});
