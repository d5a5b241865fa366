// Playwright fixtures: one real server for the run, a fresh project per test, two browser tabs (separate
// contexts) on it, and numbered screenshots of each step under test-artifacts/screens/.
import { test as base, expect, type Browser, type Locator, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AppServer, ARTIFACTS } from './server';

export { expect };

export type Shot = (page: Page, name: string) => Promise<void>;

interface TestFixtures {
  project: string;
  /** Two tabs (separate browser contexts, like two people) on the same project. */
  tabs: { a: Page; b: Page };
  shot: Shot;
}

interface WorkerFixtures {
  server: AppServer;
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 50);

export const test = base.extend<TestFixtures, WorkerFixtures>({
  server: [
    async ({}, use) => {
      // A small upload limit so that the 413 path is cheap to test.
      const server = await AppServer.start({ name: 'server', env: { MAX_UPLOAD_BYTES: '2000000' } });
      await use(server);
      await server.dispose();
    },
    { scope: 'worker', timeout: 120_000 },
  ],

  project: async ({}, use, testInfo) => {
    await use(`e2e-${slug(testInfo.title).slice(0, 40)}-${Date.now().toString(36)}`);
  },

  tabs: async ({ browser, server, project }, use) => {
    const a = await openTab(browser, server.url, project);
    const b = await openTab(browser, server.url, project);
    await use({ a, b });
    await a.context().close();
    await b.context().close();
  },

  shot: async ({}, use, testInfo) => {
    const dir = join(ARTIFACTS, 'screens', slug(testInfo.titlePath.slice(1).join(' ')));
    mkdirSync(dir, { recursive: true });
    let n = 0;
    await use(async (page, name) => {
      n += 1;
      await page.screenshot({ path: join(dir, `${String(n).padStart(2, '0')}-${slug(name)}.png`) });
    });
  },
});

export async function openTab(browser: Browser, baseUrl: string, project: string, token?: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (error) => console.error(`[page error] ${error.message}`));
  if (token) await page.addInitScript((t) => sessionStorage.setItem('timeline-ui.token', t), token);
  await page.goto(`${baseUrl}/?project=${project}`);
  if (!token) await expectLive(page);
  return page;
}

export async function expectLive(page: Page): Promise<void> {
  await expect(page.getByTestId('connection')).toHaveAttribute('data-state', 'open');
}

export function cards(page: Page): Locator {
  return page.getByTestId('card');
}

export async function cardIds(page: Page): Promise<string[]> {
  return cards(page).evaluateAll((els) => els.map((el) => (el as HTMLElement).dataset.id ?? ''));
}

export function card(page: Page, id: string): Locator {
  return page.locator(`[data-testid="card"][data-id="${id}"]`);
}

/** Add a card with the toolbar button and return its id. */
export async function addCard(page: Page): Promise<string> {
  const before = await cardIds(page);
  await page.getByTestId('add-shot').click();
  await expect(cards(page)).toHaveCount(before.length + 1);
  const after = await cardIds(page);
  return after.find((id) => !before.includes(id))!;
}

/** Record every value the card's save chip takes, from now on (a MutationObserver in the page). */
export async function recordSaveStates(page: Page, id: string): Promise<() => Promise<string[]>> {
  await page.evaluate((cardId) => {
    const chip = document.querySelector(`[data-testid="card"][data-id="${cardId}"] [data-testid="save-state"]`)!;
    const seen: string[] = [chip.getAttribute('data-state') ?? ''];
    (window as unknown as { __saveStates: string[] }).__saveStates = seen;
    new MutationObserver(() => {
      const state = chip.getAttribute('data-state') ?? '';
      if (seen[seen.length - 1] !== state) seen.push(state);
    }).observe(chip, { attributes: true, attributeFilter: ['data-state'] });
  }, id);
  return () => page.evaluate(() => (window as unknown as { __saveStates: string[] }).__saveStates);
}

export type Scene = 'kite' | 'forest' | 'city' | 'plain';

/** A PNG drawn by the browser's canvas (no files to ship), `width` x `height`. */
export async function picture(page: Page, scene: Scene, width = 960, height = 540): Promise<Buffer> {
  const dataUrl = await page.evaluate(
    ({ scene, width, height }) => {
      const canvas = document.createElement('canvas');
      canvas.width = width;
      canvas.height = height;
      const g = canvas.getContext('2d')!;
      const W = width;
      const H = height;
      const sky = (stops: string[]) => {
        const gradient = g.createLinearGradient(0, 0, 0, H);
        stops.forEach((c, i) => gradient.addColorStop(i / (stops.length - 1), c));
        g.fillStyle = gradient;
        g.fillRect(0, 0, W, H);
      };
      if (scene === 'plain') {
        sky(['#4b6cb7', '#182848']);
      } else if (scene === 'kite') {
        sky(['#1d2b64', '#6a3d7a', '#f08a5d', '#f9c97c']);
        g.fillStyle = '#ffd27a';
        g.beginPath();
        g.arc(W * 0.7, H * 0.62, H * 0.09, 0, Math.PI * 2);
        g.fill();
        const sea = g.createLinearGradient(0, H * 0.64, 0, H);
        sea.addColorStop(0, '#2b4c7e');
        sea.addColorStop(1, '#0f1d33');
        g.fillStyle = sea;
        g.fillRect(0, H * 0.64, W, H * 0.36);
        g.strokeStyle = 'rgba(255,210,122,0.5)';
        for (let i = 0; i < 8; i++) {
          g.lineWidth = 2;
          g.beginPath();
          const y = H * 0.67 + i * H * 0.035;
          g.moveTo(W * 0.7 - 60 + i * 6, y);
          g.lineTo(W * 0.7 + 60 - i * 6, y);
          g.stroke();
        }
        g.fillStyle = '#e63946';
        g.beginPath();
        g.moveTo(W * 0.3, H * 0.18);
        g.lineTo(W * 0.36, H * 0.3);
        g.lineTo(W * 0.3, H * 0.44);
        g.lineTo(W * 0.24, H * 0.3);
        g.closePath();
        g.fill();
        g.strokeStyle = 'rgba(255,255,255,0.8)';
        g.lineWidth = 1.5;
        g.beginPath();
        g.moveTo(W * 0.3, H * 0.44);
        g.bezierCurveTo(W * 0.33, H * 0.55, W * 0.27, H * 0.6, W * 0.34, H * 0.7);
        g.stroke();
      } else if (scene === 'forest') {
        sky(['#a8e6cf', '#dcedc1', '#7fb77e']);
        for (let layer = 0; layer < 3; layer++) {
          g.fillStyle = ['#2f5d50', '#234a3f', '#173328'][layer];
          for (let x = -40; x < W + 40; x += 46 - layer * 8) {
            const h = H * (0.35 + layer * 0.12) + ((x * 37) % 40);
            g.beginPath();
            g.moveTo(x, H);
            g.lineTo(x + 30, H - h);
            g.lineTo(x + 60, H);
            g.fill();
          }
        }
        g.fillStyle = 'rgba(255,255,240,0.25)';
        g.beginPath();
        g.moveTo(W * 0.55, 0);
        g.lineTo(W * 0.75, 0);
        g.lineTo(W * 0.5, H);
        g.lineTo(W * 0.3, H);
        g.fill();
      } else {
        sky(['#0f0c29', '#302b63', '#24243e']);
        for (let i = 0; i < 16; i++) {
          const bw = W / 16;
          const bh = H * (0.25 + ((i * 53) % 50) / 100);
          g.fillStyle = '#151528';
          g.fillRect(i * bw, H - bh, bw - 4, bh);
          for (let y = H - bh + 10; y < H - 10; y += 18) {
            for (let x = i * bw + 6; x < (i + 1) * bw - 10; x += 12) {
              if ((x * 7 + y * 3) % 5 < 2) {
                g.fillStyle = (x + y) % 3 ? '#ffcf5c' : '#5ce1ff';
                g.fillRect(x, y, 5, 8);
              }
            }
          }
        }
      }
      return canvas.toDataURL('image/png');
    },
    { scene, width, height },
  );
  return Buffer.from(dataUrl.split(',')[1], 'base64');
}

/** Pick a file for a card's picture (the hidden file input). */
export async function uploadPicture(page: Page, id: string, buffer: Buffer, name = 'picture.png', mimeType = 'image/png') {
  await card(page, id).getByTestId('image-input').setInputFiles({ name, mimeType, buffer });
}
