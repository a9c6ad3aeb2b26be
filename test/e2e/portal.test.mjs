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

/** Waits until the newest execution in the Recent executions card has one of the statuses. */
async function newestExecutionStatus(page, statuses, timeout = 90_000) {
  const chip = page
    .locator('[data-testid^="execution-"]')
    .first()
    .getByTestId('execution-status');
  const deadline = Date.now() + timeout;
  for (;;) {
    const text = (await chip.textContent({ timeout }))?.trim();
    if (statuses.includes(text)) return text;
    if (Date.now() > deadline) {
      throw new Error(`the newest execution is ${text}, not ${statuses}`);
    }
    await page.waitForTimeout(500);
  }
}

test('alice dry-runs and executes runbooks from the tab; bob approves the plan that needs a second person', async () => {
  const alice = await signedInPage('alice');
  await alice.goto(`${APP}/catalog/default/component/checkout/runbooks`);
  await alice.getByText('Runbooks (5)').waitFor({ timeout: 60_000 });

  // a dry-run of scale-deployment: typed field, inline error, then the plan from the demo cluster
  await alice.getByRole('button', { name: 'Run scale-deployment' }).click();
  await alice.getByLabel('replicas').fill('50');
  await alice.getByText('Too big: expected number to be <=20').waitFor();
  await alice.getByLabel('replicas').fill('4');
  await alice.getByRole('button', { name: 'Start dry-run' }).click();
  assert.equal(
    await newestExecutionStatus(alice, ['succeeded', 'failed']),
    'succeeded',
  );
  await alice.getByTestId('plan-diff-scale').waitFor({ timeout: 30_000 });
  assert.match(
    await alice.getByTestId('plan-diff-scale').textContent(),
    /replicas: 4/,
  );

  // rollback needs an approval: alice executes it, it waits for someone else
  await alice.getByRole('button', { name: 'Run rollback-deployment' }).click();
  await alice.getByLabel('reason').fill('INC-42: the new release returns 500s');
  await alice.getByLabel('Execute').check();
  await alice.getByRole('button', { name: 'Execute' }).click();
  assert.equal(
    await newestExecutionStatus(alice, ['waiting-approval', 'failed']),
    'waiting-approval',
  );
  // alice cannot approve her own execution, and the tab says why
  await alice
    .getByText(
      'You requested this execution, so another person must approve it',
    )
    .waitFor({ timeout: 30_000 });
  assert.equal(
    await alice.getByRole('button', { name: 'Approve this plan' }).count(),
    0,
  );
  await alice.screenshot({
    path: path.join(artifacts, 'checkout-run-waiting.png'),
    fullPage: true,
  });

  const bob = await signedInPage('bob');
  await bob.goto(`${APP}/catalog/default/component/checkout/runbooks`);
  await bob.getByText('Recent executions').waitFor({ timeout: 60_000 });
  await bob
    .locator('[data-testid^="execution-"]')
    .first()
    .getByRole('button')
    .first()
    .click();
  // bob sees the plan diff and the services the change reaches before he approves
  await bob.getByTestId('plan-diff-undo').waitFor({ timeout: 30_000 });
  const radius = await bob.getByTestId('blast-radius').last().textContent();
  assert.match(radius, /Blast radius: medium/);
  assert.match(radius, /storefront/);
  assert.equal(
    await bob
      .getByRole('link', { name: 'storefront' })
      .last()
      .getAttribute('href'),
    '/catalog/default/component/storefront',
  );
  await bob.getByRole('button', { name: 'Approve this plan' }).click();
  assert.equal(
    await newestExecutionStatus(bob, [
      'succeeded',
      'failed',
      'needs-attention',
    ]),
    'succeeded',
  );
  await bob.screenshot({
    path: path.join(artifacts, 'checkout-run-approved.png'),
    fullPage: true,
  });
  await alice.close();
  await bob.close();
});
