// A real workspace server for the browser tests: `python -m app` from the repository root, with the embedded
// database, the local video renderer and the offline LLM, on a free port and a fresh DATA_DIR.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const UI_ROOT = resolve(here, '..');
/** The repository root: ecosystem/timeline-ui/e2e -> ../../.. (CI clones it anywhere). */
export const REPO_ROOT = resolve(UI_ROOT, '..', '..');
export const ARTIFACTS = join(UI_ROOT, 'test-artifacts');
const PYTHON = process.env.APP_PYTHON ?? join(REPO_ROOT, '.venv', 'bin', 'python');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export interface ServerOptions {
  port?: number;
  dataDir?: string;
  /** Extra environment (e.g. AUTH_TOKEN, MAX_UPLOAD_BYTES). */
  env?: Record<string, string>;
  /** Name of the log file under test-artifacts/. */
  name?: string;
}

export class AppServer {
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  private runs = 0;

  private constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly env: Record<string, string>,
    private readonly name: string,
    private readonly ownsDataDir: boolean,
  ) {}

  static async start(options: ServerOptions = {}): Promise<AppServer> {
    const port = options.port ?? (await freePort());
    const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'timeline-e2e-'));
    const server = new AppServer(port, dataDir, options.env ?? {}, options.name ?? `server-${port}`, !options.dataDir);
    await server.launch();
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Start the process (again, on the same port and DATA_DIR; `env` changes its settings) and wait for /health. */
  async launch(settings: Record<string, string> = {}): Promise<void> {
    if (this.child) throw new Error('the server is already running');
    Object.assign(this.env, settings);
    mkdirSync(ARTIFACTS, { recursive: true });
    const log = createWriteStream(join(ARTIFACTS, `${this.name}.log`), { flags: this.runs++ ? 'a' : 'w' });
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      HOST: '127.0.0.1',
      PORT: String(this.port),
      DATA_DIR: this.dataDir,
      VIDEO_PROVIDER: 'local',
      LLM_PROVIDER: 'offline',
      POLL_INTERVAL_S: '0.2',
      LOG_LEVEL: 'INFO',
      ...this.env,
    };
    if (!this.env.MONGODB_URI) delete env.MONGODB_URI;
    if (!this.env.AUTH_TOKEN) delete env.AUTH_TOKEN;
    const child = spawn(PYTHON, ['-m', 'app'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.child = child;
    this.exited = new Promise((done) => {
      child.once('exit', (code) => {
        this.child = null;
        done(code);
      });
      child.once('error', () => {
        this.child = null;
        done(null);
      });
    });
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      if (!this.child) throw new Error(`the server exited while starting; see test-artifacts/${this.name}.log`);
      try {
        const res = await fetch(`${this.url}/health`);
        if (res.ok) return;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await this.stop();
    throw new Error(`the server did not become healthy in 90 s; see test-artifacts/${this.name}.log`);
  }

  /** SIGTERM (graceful: confirms what it received, stops the embedded database), SIGKILL after 30 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.pid === undefined) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL'); // its process group: the server and the database it started
      } catch {
        /* already gone */
      }
    }, 30_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Stop and forget the DATA_DIR this helper made. */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.ownsDataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** REST helper: the workspaces of a project. */
  async workspaces(project: string, token?: string): Promise<Array<Record<string, any>>> {
    const res = await fetch(`${this.url}/api/workspaces?project=${project}`, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    if (!res.ok) throw new Error(`GET /api/workspaces: ${res.status}`);
    return ((await res.json()) as { workspaces: Array<Record<string, any>> }).workspaces;
  }
}
