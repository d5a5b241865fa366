// Issue 16 against a real server (PROTOCOL.md 10): who is here and who edits which field, undo with the keyboard as
// a forward change the other tab sees, and the history drawer with paging and restore.
import { addCard, card, expect, openTab, test } from './fixtures';
import type { Page } from '@playwright/test';

/** The pseudonym a tab shows to the others ("Guest 4821"), read from its own avatar. */
async function nameOf(page: Page): Promise<string> {
  const me = page.getByTestId('me-avatar');
  await expect(me).toHaveAttribute('data-name', /\S/);
  return (await me.getAttribute('data-name'))!;
}

const whoIsHere = (page: Page) => page.getByRole('group', { name: 'Who is here' });

test('the other tab sees who is here and who edits a field; Ctrl+Z brings the previous value back everywhere', async ({
  tabs: { a, b },
  browser,
  server,
  project,
  shot,
}) => {
  const id = await addCard(a);
  await expect(card(b, id)).toBeVisible();
  const [nameA, nameB] = [await nameOf(a), await nameOf(b)];
  expect(nameA).not.toBe(nameB);
  await expect(whoIsHere(b).getByRole('img', { name: nameA, exact: true })).toBeVisible();
  await expect(whoIsHere(a).getByRole('img', { name: nameB, exact: true })).toBeVisible();
  await expect(whoIsHere(a).getByRole('img', { name: `You (${nameA})`, exact: true })).toBeVisible();

  // B writes the prompt: the value A's undo will bring back.
  const promptA = card(a, id).getByTestId('field-prompt');
  const promptB = card(b, id).getByTestId('field-prompt');
  await promptB.fill('A red kite over the sea');
  await expect(promptA).toHaveValue('A red kite over the sea');
  await promptB.blur();

  // A types over it; B sees A on the card and beside the prompt, A never sees itself.
  await promptA.click();
  await promptA.press('ControlOrMeta+a');
  await promptA.pressSequentially('A lighthouse at night', { delay: 25 });
  const badgeInB = card(b, id).getByTestId('field-peers-prompt').getByRole('img', { name: `${nameA} is editing Prompt`, exact: true });
  await expect(badgeInB).toBeVisible();
  await expect(card(b, id).getByTestId('card-peers').getByRole('img', { name: `${nameA} is editing Prompt` })).toBeVisible();
  await expect(card(b, id).getByTestId('field-peers-title')).toHaveCount(0);
  await expect(card(a, id).getByTestId('field-peers-prompt')).toHaveCount(0); // B left the field; A is not shown to A
  await expect(card(a, id).getByTestId('card-peers').getByRole('img', { name: `${nameB} is on this shot` })).toBeVisible();
  await expect(promptB).toHaveValue('A lighthouse at night');
  await expect(card(a, id).getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
  await shot(b, 'B sees A editing the prompt');

  // Undo in A, the focus still in the prompt (the app's undo, not the textarea's): B gets the old value back.
  await a.keyboard.press('ControlOrMeta+z');
  await expect(promptA).toHaveValue('A red kite over the sea');
  await expect(promptB).toHaveValue('A red kite over the sea');
  await expect.poll(async () => (await server.workspaces(project)).find((w) => w.id === id)?.form_data.prompt).toBe('A red kite over the sea');
  await shot(b, 'B after A undid');
  // Redo (Shift+Ctrl+Z), and Ctrl+Y after another undo.
  await a.keyboard.press('ControlOrMeta+Shift+z');
  await expect(promptB).toHaveValue('A lighthouse at night');
  await a.keyboard.press('ControlOrMeta+z');
  await expect(promptB).toHaveValue('A red kite over the sea');
  await a.keyboard.press('Control+y');
  await expect(promptB).toHaveValue('A lighthouse at night');
  await expect(a.getByRole('button', { name: 'Redo' })).toBeDisabled();
  await expect.poll(async () => (await server.workspaces(project)).find((w) => w.id === id)?.form_data.prompt).toBe('A lighthouse at night');

  // A leaves the field: its badge there goes, it stays on the card.
  await promptA.blur();
  await expect(badgeInB).toHaveCount(0);
  await expect(card(b, id).getByTestId('card-peers').getByRole('img', { name: `${nameA} is on this shot` })).toBeVisible();

  // A third tab comes and goes.
  const c = await openTab(browser, server.url, project);
  const nameC = await nameOf(c);
  await expect(whoIsHere(b).getByRole('img', { name: nameC, exact: true })).toBeVisible();
  await c.context().close();
  await expect(whoIsHere(b).getByRole('img', { name: nameC, exact: true })).toHaveCount(0);
  await expect(whoIsHere(b).getByRole('img', { name: nameA, exact: true })).toBeVisible();
});

test('the history drawer pages through versions and restores one; the other tab sees the restore', async ({ tabs: { a, b }, server, project, shot }) => {
  const id = await addCard(a); // v1
  const c = card(a, id);
  const titleB = card(b, id).getByTestId('field-title');
  const promptB = card(b, id).getByTestId('field-prompt');
  const cameraB = card(b, id).getByTestId('field-camera_movement');
  // One stored version per change: each waits until B has it.
  await c.getByTestId('field-prompt').fill('Boats leave the harbour'); // v2
  await expect(promptB).toHaveValue('Boats leave the harbour');
  await c.getByTestId('field-camera_movement').selectOption('pan_left'); // v3
  await expect(cameraB).toHaveValue('pan_left');
  await c.getByTestId('field-prompt').fill('Boats come back at dusk'); // v4
  await expect(promptB).toHaveValue('Boats come back at dusk');
  for (let take = 1; take <= 18; take++) {
    await c.getByTestId('field-title').fill(`Harbour, take ${take}`); // v5 .. v22
    await expect(titleB).toHaveValue(`Harbour, take ${take}`);
  }

  await c.getByRole('button', { name: 'History' }).click();
  const drawer = a.getByRole('dialog', { name: /^History/ });
  const entries = drawer.getByTestId('history-entry');
  await expect(entries).toHaveCount(20); // the first page
  await expect(entries.first()).toHaveAttribute('data-version', '22');
  await expect(entries.first()).toContainText('Title “Harbour, take 18”');
  await expect(entries.first()).toContainText('You');
  await expect(entries.first()).toContainText('Current');
  await drawer.getByRole('button', { name: 'Load more' }).click(); // before_version=3
  await expect(entries).toHaveCount(22);
  await expect(entries.last()).toHaveAttribute('data-version', '1');
  await expect(drawer.getByRole('button', { name: 'Load more' })).toHaveCount(0); // that was all
  await expect(drawer.locator('[data-version="3"]')).toContainText('Camera “Pan left”');
  await shot(a, 'history drawer');

  // Restore v2: the prompt of then, and no camera yet; the title of then was empty.
  await drawer.getByRole('button', { name: 'Restore version 2', exact: true }).click();
  await expect(drawer.getByTestId('history-result')).toHaveText('Restored version 2 as version 23.');
  await expect(c.getByTestId('field-prompt')).toHaveValue('Boats leave the harbour');
  await expect(c.getByTestId('field-camera_movement')).toHaveValue('');
  await expect(promptB).toHaveValue('Boats leave the harbour');
  await expect(cameraB).toHaveValue('');
  await expect(titleB).toHaveValue('');
  await expect(entries.first()).toHaveAttribute('data-version', '23');
  await expect(entries.first()).toContainText('Prompt “Boats leave the harbour”');
  await expect(entries.first()).toContainText('Camera removed');
  await shot(b, 'B after the restore');
  const stored = (await server.workspaces(project)).find((w) => w.id === id)!;
  expect(stored.version).toBe(23);
  expect(stored.form_data.prompt).toBe('Boats leave the harbour');
  expect(stored.form_data.camera_movement).toBeUndefined();

  // B's drawer names A as the author of the restore (by its presence name).
  await card(b, id).getByRole('button', { name: 'History' }).click();
  const drawerB = b.getByRole('dialog', { name: /^History/ });
  await expect(drawerB.getByTestId('history-entry').first()).toHaveAttribute('data-version', '23');
  await expect(drawerB.getByTestId('history-entry').first()).toContainText(await nameOf(a));
  await drawerB.getByRole('button', { name: 'Close history' }).click();
  await expect(drawerB).toHaveCount(0);

  // The restore is A's own change: Ctrl+Z (the focus on the drawer, not in a text field) takes it back.
  await a.keyboard.press('ControlOrMeta+z');
  await expect(promptB).toHaveValue('Boats come back at dusk');
  await expect(cameraB).toHaveValue('pan_left');
  await expect(titleB).toHaveValue('Harbour, take 18');
  await expect(entries.first()).toHaveAttribute('data-version', '24'); // the open drawer follows
});
