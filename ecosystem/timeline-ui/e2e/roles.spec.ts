// Per-project tokens (PROTOCOL.md 9.1): a server with AUTH_JWT_SECRET, HS256 tokens minted here. A viewer's tab
// shows the timeline read-only and still follows an editor's changes live; an expired token asks to sign in again.
import { createHmac } from 'node:crypto';
import type { Browser, Page } from '@playwright/test';
import { addCard, card, cards, expect, expectLive, test } from './fixtures';
import { AppServer } from './server';

const SECRET = 'e2e-jwt-secret-0123456789abcdef0123456789';

type Role = 'viewer' | 'editor' | 'admin';

/** An HS256 JSON Web Token, signed as the server checks it. */
function mint(claims: { sub: string; role: Role; projects: string[]; exp?: number }): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims })}`;
  return `${signed}.${createHmac('sha256', SECRET).update(signed).digest('base64url')}`;
}

/** A tab of its own (like another person) opened as `/?project=...&token=...`, live. */
async function signedInTab(browser: Browser, server: AppServer, project: string, token: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  await page.goto(`${server.url}/?project=${project}&token=${encodeURIComponent(token)}`);
  await expectLive(page);
  return page;
}

let server: AppServer;

test.beforeAll(async () => {
  server = await AppServer.start({ name: 'server-jwt', env: { AUTH_JWT_SECRET: SECRET } });
});

test.afterAll(async () => {
  await server?.dispose();
});

test("a viewer's timeline is read-only and follows an editor's changes live", async ({ browser, project, shot }) => {
  test.setTimeout(120_000);
  const editor = await signedInTab(browser, server, project, mint({ sub: 'bob', role: 'editor', projects: [project] }));
  await expect(editor.getByTestId('signed-in-as')).toHaveText('signed in as bob');
  await expect(editor.getByTestId('read-only')).toHaveCount(0);
  const first = await addCard(editor);
  await addCard(editor);
  await card(editor, first).getByTestId('field-prompt').fill('A red kite over the dunes');
  await expect(card(editor, first).getByTestId('save-state')).toHaveAttribute('data-state', 'saved');

  const viewer = await signedInTab(browser, server, project, mint({ sub: 'alice', role: 'viewer', projects: [project] }));
  await expect(cards(viewer)).toHaveCount(2);
  await expect(viewer.getByTestId('read-only')).toHaveText(/Read-only \(viewer\)/);
  await expect(viewer.getByTestId('signed-in-as')).toHaveText('signed in as alice');
  const shown = card(viewer, first);
  await expect(shown.getByTestId('field-prompt')).toHaveValue('A red kite over the dunes');
  // Nothing to create, delete or drag.
  for (const testId of ['add-shot', 'add-card', 'delete', 'drag-handle', 'insert-1']) {
    await expect(viewer.getByTestId(testId)).toHaveCount(0);
  }
  // Every field of the form and the title are disabled; no upload, no video or AI actions.
  for (const testId of ['field-title', 'field-prompt', 'field-negative_prompt', 'field-camera_movement', 'field-shot_size', 'field-lighting', 'field-duration_s', 'field-aspect_ratio', 'field-narration']) {
    await expect(shown.getByTestId(testId)).toBeDisabled();
  }
  // No jobs either (PROTOCOL.md 8): the shot's keyframe and voice, the story, the film and the export are off.
  for (const testId of ['keyframe-paint', 'narration-speak']) await expect(shown.getByTestId(testId)).toBeDisabled();
  for (const testId of ['story-input', 'storyboard', 'make-film', 'export-open']) await expect(viewer.getByTestId(testId)).toBeDisabled();
  await expect(shown.getByTestId('image-input')).toBeDisabled();
  await expect(shown.getByRole('button', { name: /Choose file|Replace/ })).toHaveCount(0);
  await expect(shown.getByTestId('video-generate')).toHaveCount(0);
  await expect(shown.getByTestId('video-cancel')).toHaveCount(0);
  await shown.getByTestId('ai-toggle').click();
  await expect(shown.getByTestId('ai-log')).toBeVisible();
  await expect(shown.getByTestId('ai-input')).toHaveCount(0);
  await expect(shown.getByTestId('ai-send')).toHaveCount(0);
  await shot(viewer, 'viewer: read-only timeline');

  // The editor's changes arrive in the viewer's tab as they are made.
  await card(editor, first).getByTestId('field-prompt').fill('The kite dives into the sea');
  await card(editor, first).getByTestId('field-title').fill('Dive');
  await expect(shown.getByTestId('field-prompt')).toHaveValue('The kite dives into the sea');
  await expect(shown.getByTestId('field-title')).toHaveValue('Dive');
  await addCard(editor);
  await expect(cards(viewer)).toHaveCount(3);
  await shot(viewer, 'viewer: the editor changed the first shot and added one');
  const stored = (await server.workspaces(project, mint({ sub: 'check', role: 'viewer', projects: [project] }))).find((w) => w.id === first);
  expect(stored?.form_data.prompt).toBe('The kite dives into the sea');

  await editor.context().close();
  await viewer.context().close();
});

test('when the token expires the server closes the socket and the page asks for a new one', async ({ browser, project, shot }) => {
  test.setTimeout(120_000);
  const soon = Math.floor(Date.now() / 1000) + 4;
  const page = await signedInTab(browser, server, project, mint({ sub: 'carol', role: 'viewer', projects: [project], exp: soon }));
  await expect(page.getByTestId('read-only')).toBeVisible();
  // 1008 within 2 s of exp (with at most 5 s of leeway): the sign-in dialog says why.
  await expect(page.getByTestId('login')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'unauthorized');
  await expect(page.getByTestId('login-expired')).toContainText('signed in as carol');
  await shot(page, 'expired: sign in again');

  await page.getByTestId('login-token').fill(mint({ sub: 'carol', role: 'editor', projects: [project] }));
  await page.getByRole('button', { name: 'Connect' }).click();
  await expectLive(page);
  await expect(page.getByTestId('login')).toBeHidden();
  await expect(page.getByTestId('read-only')).toHaveCount(0);
  await expect(page.getByTestId('add-shot')).toBeVisible();
  await page.context().close();
});
