// The local portal as `npm start` runs it (with an in-memory database), and Debian's Chromium, for
// the end-to-end suite and the portal benchmark.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../..',
);
export const artifacts = path.join(root, 'test/artifacts');
export const APP = 'http://localhost:3000';
export const BACKEND = 'http://localhost:7007';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

let portal;
let portalLog = '';

export async function waitFor(what, fn, timeoutMs = 180_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    if (portal && portal.exitCode !== null) {
      throw new Error(
        `the portal exited (${
          portal.exitCode
        }) while waiting for ${what}:\n${portalLog.slice(-4000)}`,
      );
    }
    try {
      if (await fn()) return;
    } catch (e) {
      last = e;
    }
    await new Promise(r => setTimeout(r, 500));
  }
  throw new Error(
    `timed out waiting for ${what}: ${last?.message ?? ''}\n${portalLog.slice(
      -4000,
    )}`,
  );
}

async function portFree(port) {
  try {
    await fetch(`http://localhost:${port}/`);
    return false;
  } catch {
    return true;
  }
}

/** Starts the portal (`backstage-cli repo start`) on a fresh in-memory database and Chromium. */
export async function startPortal() {
  mkdirSync(artifacts, { recursive: true });
  for (const port of [3000, 7007]) {
    if (!(await portFree(port))) {
      throw new Error(
        `port ${port} is taken: stop the running portal before the end-to-end test`,
      );
    }
  }
  portal = spawn(
    path.join(root, 'node_modules/.bin/backstage-cli'),
    ['repo', 'start'],
    {
      cwd: root,
      detached: true,
      env: {
        ...process.env,
        // a fresh database for every run, nothing shared with a developer's portal in data/
        APP_CONFIG_backend_database_connection: '":memory:"',
        BROWSER: 'none',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const keep = chunk => {
    portalLog = (portalLog + chunk.toString()).slice(-20000);
  };
  portal.stdout.on('data', keep);
  portal.stderr.on('data', keep);

  await waitFor(
    'the backend',
    async () => (await fetch(`${BACKEND}/.backstage/health/v1/readiness`)).ok,
  );
  // the catalog must have loaded the demo users before anyone can sign in
  await waitFor(
    'the demo users in the catalog',
    async () =>
      (
        await fetch(`${BACKEND}/api/auth/demo/refresh`, {
          headers: { 'x-runbooks-demo-user': 'alice' },
        })
      ).ok,
  );
  await waitFor('the app', async () => (await fetch(APP)).ok);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
}

/** Stops the portal and the browser. */
export async function stopPortal(browser) {
  await browser?.close();
  if (portal && portal.exitCode === null) {
    process.kill(-portal.pid, 'SIGTERM');
    await new Promise(r => setTimeout(r, 1000));
    try {
      process.kill(-portal.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** A page signed in as one of the demo users, on the catalog index. */
export async function signedInPage(
  browser,
  user,
  viewport = { width: 1400, height: 1000 },
) {
  const page = await browser.newPage({ viewport });
  await page.goto(APP);
  await page.getByRole('button', { name: `Sign in as ${user}` }).click();
  // the catalog index is the landing page once signed in
  await page
    .getByText('checkout', { exact: true })
    .first()
    .waitFor({ timeout: 60_000 });
  return page;
}
