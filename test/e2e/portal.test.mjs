// End-to-end: start the local portal as `npm start` does (with an in-memory database), sign in as
// alice in Debian's Chromium and look at the checkout component's Runbooks tab.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../..',
);
const artifacts = path.join(root, 'test/artifacts');
const APP = 'http://localhost:3000';
const BACKEND = 'http://localhost:7007';
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
let browser;

async function waitFor(what, fn, timeoutMs = 180_000) {
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

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  for (const port of [3000, 7007]) {
    assert.ok(
      await portFree(port),
      `port ${port} is taken: stop the running portal before the end-to-end test`,
    );
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
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_FLAGS,
  });
});

after(async () => {
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
});

async function signedInPage(user) {
  const page = await browser.newPage({
    viewport: { width: 1400, height: 1000 },
  });
  await page.goto(APP);
  await page.getByRole('button', { name: `Sign in as ${user}` }).click();
  // the catalog index is the landing page once signed in
  await page
    .getByText('checkout', { exact: true })
    .first()
    .waitFor({ timeout: 60_000 });
  return page;
}

test('alice sees the runbooks of checkout with their typed parameters', async () => {
  const page = await signedInPage('alice');
  await page.goto(`${APP}/catalog/default/component/checkout/runbooks`);
  await page.getByText('Runbooks (5)').waitFor({ timeout: 60_000 });
  for (const title of [
    'Restart a deployment (rolling)',
    'Delete a crash-looping pod',
    'Scale a deployment within bounds',
    'Roll back a deployment to the previous revision',
    'Rotate a Kubernetes secret and restart its consumers',
  ]) {
    assert.equal(
      await page.getByText(title, { exact: true }).count(),
      1,
      title,
    );
  }
  // defaults resolved from checkout's kubernetes annotations, bounds from the runbook
  assert.ok(
    await page.getByText('deployment: k8s-name = checkout').first().isVisible(),
  );
  assert.ok(await page.getByText('replicas*: integer 1–20').isVisible());
  await page.screenshot({
    path: path.join(artifacts, 'checkout-runbooks.png'),
    fullPage: true,
  });
  await page.close();
});

test('every component of the demo catalog has the Runbooks tab', async () => {
  const page = await signedInPage('alice');
  const components = [
    'storefront',
    'checkout',
    'catalog-service',
    'inventory',
    'order-worker',
    'payments',
    'notifications',
    'payments-gateway',
  ];
  for (const name of components) {
    await page.goto(`${APP}/catalog/default/component/${name}`);
    // the tab is a link to the entity's runbooks route
    await page
      .locator(`a[href="/catalog/default/component/${name}/runbooks"]`)
      .filter({ hasText: 'Runbooks' })
      .waitFor({ timeout: 30_000 });
  }
  // the VM-based gateway gets the Ansible runbook, not the Kubernetes ones
  await page.goto(`${APP}/catalog/default/component/payments-gateway/runbooks`);
  await page.getByText('Runbooks (1)').waitFor({ timeout: 30_000 });
  assert.equal(
    await page
      .getByText('Restart a systemd service on a host group (Ansible)')
      .count(),
    1,
  );
  await page.close();
});
