// Tests that need a server of their own: one stopped and restarted, one with AUTH_TOKEN.
import { addCard, card, expect, expectLive, openTab, picture, test, uploadPicture } from './fixtures';
import { AppServer } from './server';

test('an edit made while the server is down is sent after it comes back', async ({ browser, project, shot }) => {
  test.setTimeout(180_000);
  const server = await AppServer.start({ name: 'server-restart' });
  try {
    const page = await openTab(browser, server.url, project);
    const id = await addCard(page);
    const prompt = card(page, id).getByTestId('field-prompt');
    await prompt.fill('before the outage');
    await expect(card(page, id).getByTestId('save-state')).toHaveAttribute('data-state', 'saved');

    await server.stop(); // SIGTERM: a graceful shutdown closes the socket with 1001
    await expect(page.getByTestId('connection')).toHaveAttribute('data-state', /reconnecting|connecting/);
    await shot(page, 'server down');

    const offlineText = 'typed while the server was down';
    await prompt.fill(offlineText);
    await expect(card(page, id).getByTestId('save-state')).toHaveAttribute('data-state', 'offline');
    await shot(page, 'edit kept offline');

    await server.launch(); // same port, same DATA_DIR
    await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open', { timeout: 60_000 });
    await expect(card(page, id).getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
    await shot(page, 'reconnected and saved');
    const stored = (await server.workspaces(project)).find((w) => w.id === id);
    expect(stored?.form_data.prompt).toBe(offlineText);

    // A tab opened now reads it from the server.
    const fresh = await openTab(browser, server.url, project);
    await expect(card(fresh, id).getByTestId('field-prompt')).toHaveValue(offlineText);
    await fresh.context().close();
    await page.context().close();
  } finally {
    await server.dispose();
  }
});

test('with AUTH_TOKEN the token goes on the socket, uploads and media; a new token is asked for', async ({ browser, project, shot }) => {
  test.setTimeout(180_000);
  const server = await AppServer.start({ name: 'server-auth', env: { AUTH_TOKEN: 'first-token' } });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    // Every path wants the token (PROTOCOL.md 7), the page itself included: it is opened with ?token=.
    const refused = await page.goto(`${server.url}/?project=${project}`);
    expect(refused?.status()).toBe(401);
    await page.goto(`${server.url}/?project=${project}&token=first-token`);
    await expectLive(page);
    expect(new URL(page.url()).searchParams.get('token')).toBeNull(); // out of the address bar
    expect(new URL(page.url()).searchParams.get('project')).toBe(project);
    expect(await page.evaluate(() => sessionStorage.getItem('timeline-ui.token'))).toBe('first-token');

    const id = await addCard(page);
    await uploadPicture(page, id, await picture(page, 'city')); // Authorization: Bearer on the upload
    const thumb = card(page, id).getByTestId('thumbnail');
    await expect(thumb).toHaveAttribute('src', /\/uploads\/.+\?token=first-token$/);
    await expect.poll(() => thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(960);
    await shot(page, 'signed in, picture loaded with the token');

    // The token changes: the socket is closed with 1008 and the page asks for the new one.
    await server.stop();
    await server.launch({ AUTH_TOKEN: 'second-token' });
    await expect(page.getByTestId('login')).toBeVisible({ timeout: 60_000 });
    await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'unauthorized');
    await shot(page, 'sign-in prompt');
    await page.getByTestId('login-token').fill('wrong');
    await page.getByRole('button', { name: 'Connect' }).click();
    await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'unauthorized');
    await expect(page.getByTestId('login')).toBeVisible();
    await page.getByTestId('login-token').fill('second-token');
    await page.getByRole('button', { name: 'Connect' }).click();
    await expectLive(page);
    await expect(page.getByTestId('login')).toBeHidden();
    await card(page, id).getByTestId('field-prompt').fill('Rain on neon signs');
    await expect(card(page, id).getByTestId('save-state')).toHaveAttribute('data-state', 'saved');
    expect((await server.workspaces(project, 'second-token'))[0].form_data.prompt).toBe('Rain on neon signs');
    await shot(page, 'signed in again');
    await context.close();
  } finally {
    await server.dispose();
  }
});
