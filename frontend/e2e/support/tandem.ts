import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const TOKEN = 'e2e-admin-token-0123456789';
/** The Clerk emulator's key, so tests can act as Clerk's dashboard through its Backend API. */
export const CLERK_KEY = 'sk_test_e2e_clerk_key';
const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

export interface Tandem {
  base: string;
  clerk: string;
  /** Runs a GraphQL operation as the admin, for setting up a scenario quickly. */
  gql: <T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>) => Promise<T>;
  stop: () => Promise<void>;
}

const STARTUP_MS = 20_000;
// ANSI colour codes, should the log ever be coloured.
const ANSI = /\u001b\[[0-9;]*m/g;

/** Waits for `pattern` on a child's output and returns its first group. */
function awaitOutput(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp, what: string): Promise<string> {
  return new Promise((resolveStart, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start in ${STARTUP_MS} ms:\n${log}`)), STARTUP_MS);
    child.once('error', (e) => reject(new Error(`cannot run ${what} (set TANDEM_BIN, or cargo build): ${e.message}`)));
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code} at start:\n${log}`)));
    child[stream]!.setEncoding('utf8').on('data', (chunk: string) => {
      log += chunk.replace(ANSI, '');
      const found = pattern.exec(log)?.[1];
      if (found) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child[stream]!.removeAllListeners('data');
        // Keep draining, so the process never blocks on a full pipe.
        child[stream]!.resume();
        resolveStart(found);
      }
    });
  });
}

/**
 * Starts the real `tandem` binary on a random port over a fresh SQLite file,
 * talking to a Clerk emulator (`tandem clerk-emulator`) that sends its
 * webhooks back, and with a fast retry schedule.
 */
export async function startTandem(): Promise<Tandem> {
  const bin = resolve(process.env.TANDEM_BIN ?? '../target/debug/tandem');
  const dir = await mkdtemp(join(tmpdir(), 'tandem-e2e-'));
  const env: NodeJS.ProcessEnv = { ...process.env, RUST_LOG: 'info,sqlx=warn', CLERK_SECRET_KEY: CLERK_KEY };
  delete env.TANDEM_LOG_FORMAT;

  const emulatorChild = spawn(bin, ['clerk-emulator', '--bind', '127.0.0.1:0'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'ignore'] });
  const clerk = await awaitOutput(emulatorChild, 'stdout', /Clerk emulator at (\S+)/, 'the Clerk emulator');

  const child = spawn(bin, ['serve'], {
    cwd: dir,
    env: {
      ...env,
      DATABASE_URL: `sqlite://${join(dir, 'tandem.db')}`,
      TANDEM_BIND: '127.0.0.1:0',
      TANDEM_ADMIN_TOKEN: TOKEN,
      TANDEM_RETRY_SCHEDULE: '200ms,400ms,600ms',
      CLERK_API_URL: clerk,
      CLERK_WEBHOOK_SIGNING_SECRET: WEBHOOK_SECRET,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const address = await awaitOutput(child, 'stderr', /http\.address=(\S+)/, 'tandem');
  const base = `http://${address}`;
  const hook = await fetch(`${clerk}/_emulator/webhooks`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ url: `${base}/webhooks/clerk`, secret: WEBHOOK_SECRET }),
  });
  if (!hook.ok) throw new Error(`cannot point the emulator's webhooks at tandem: ${hook.status}`);

  const home = await (await fetch(base)).text();
  if (home.includes('admin panel is not built')) {
    await stop(child, emulatorChild, dir);
    throw new Error(`${bin} was built without the panel: run \`cargo build\` with npm on PATH (see its warnings)`);
  }

  return {
    base,
    clerk,
    gql: async (query, variables = {}) => {
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: unknown; errors?: unknown };
      if (body.errors) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
      return body.data as never;
    },
    stop: () => stop(child, emulatorChild, dir),
  };
}

async function stop(child: ChildProcess, emulatorChild: ChildProcess, dir: string) {
  for (const process of [child, emulatorChild]) {
    if (process.exitCode === null) {
      const exited = new Promise((r) => process.once('exit', r));
      process.kill('SIGTERM');
      await exited;
    }
  }
  await rm(dir, { recursive: true, force: true });
}
