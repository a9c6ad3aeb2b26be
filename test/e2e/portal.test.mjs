// End-to-end: start the local portal as `npm start` does (with an in-memory database) and use it in
// Debian's Chromium as alice (runs runbooks on checkout), bob (on-call lead, approves, manages kill
// switches) and carol (incident reviewer). Screenshots of every page go to test/artifacts/.
import path from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  APP,
  artifacts,
  signedInPage as signIn,
  startPortal,
  stopPortal,
} from '../support/portal.mjs';

let browser;

before(async () => {
  browser = await startPortal();
});

after(async () => {
  await stopPortal(browser);
});

const signedInPage = (user, viewport) => signIn(browser, user, viewport);

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

/** Waits until the newest execution in the history card has one of the statuses. */
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

const shot = (page, name) =>
  page.screenshot({
    path: path.join(artifacts, `${name}.png`),
    fullPage: true,
  });

test('alice runs restart on checkout, bob approves from his inbox, the page updates live, carol reviews it, a kill switch stops the next run', async () => {
  const alice = await signedInPage('alice');
  await alice.goto(`${APP}/catalog/default/component/checkout/runbooks`);
  await alice.getByText('Runbooks (5)').waitFor({ timeout: 60_000 });
  // risk at a glance: restart changes state and reaches storefront, which depends on checkout
  const risk = await alice.getByTestId('risk-restart-deployment').textContent();
  assert.match(risk, /1 of 3 steps change state/);
  assert.match(risk, /Blast radius \(at least\): medium/);
  assert.match(risk, /storefront/);

  // health: the runbooks checked against the demo cluster now (kubectl reads and dry-runs only)
  await alice
    .getByRole('button', { name: 'Check runbooks against the system' })
    .click();
  await alice
    .getByTestId('risk-restart-deployment')
    .getByText(/Matches the system/)
    .waitFor({ timeout: 60_000 });

  // the dialog: typed fields with inline errors (scale), the bound fields fixed (restart)
  await alice.getByRole('button', { name: 'Run scale-deployment' }).click();
  await alice.getByLabel('replicas').fill('50');
  await alice.getByText('Too big: expected number to be <=20').waitFor();
  await alice.getByRole('button', { name: 'Close' }).click();

  await alice.getByRole('button', { name: 'Run restart-deployment' }).click();
  assert.equal(
    await alice.getByLabel('deployment', { exact: true }).inputValue(),
    'checkout',
  );
  assert.equal(
    await alice
      .getByLabel('deployment', { exact: true })
      .getAttribute('readonly'),
    '',
  );
  assert.ok(
    await alice.getByLabel('Dry-run (plan only, change nothing)').isChecked(),
  );
  await shot(alice, 'run-dialog');
  await alice.getByRole('button', { name: 'Start dry-run' }).click();
  assert.equal(
    await newestExecutionStatus(alice, ['succeeded', 'failed']),
    'succeeded',
  );
  await alice.getByTestId('plan-diff-restart').waitFor({ timeout: 30_000 });
  assert.match(
    await alice.getByTestId('plan-diff-restart').textContent(),
    /restartedAt/,
  );
  await shot(alice, 'checkout-runbooks-tab');

  // the execute waits for a second person: its blast radius is medium
  await alice.getByRole('button', { name: 'Run restart-deployment' }).click();
  await alice.getByLabel('Execute').check();
  await alice.getByRole('button', { name: 'Execute' }).click();
  assert.equal(
    await newestExecutionStatus(alice, ['waiting-approval', 'failed']),
    'waiting-approval',
  );
  // alice follows it on its own page, which stays open (live) until the end
  await alice
    .locator('[data-testid^="execution-"]')
    .first()
    .getByRole('link', { name: 'Open page' })
    .click();
  await alice.waitForURL(/\/runbooks\/executions\//);
  const executionUrl = alice.url();
  await alice
    .getByText(
      'You requested this execution, so another person must approve it (four-eyes rule).',
    )
    .waitFor({ timeout: 30_000 });
  assert.equal(
    await alice.getByRole('button', { name: /^Approve the plan of/ }).count(),
    0,
  );
  await alice.getByText('Live', { exact: true }).waitFor({ timeout: 30_000 });
  await shot(alice, 'execution-waiting-alice');

  // alice's inbox: her own request, with the reason she cannot approve it
  const aliceInbox = await signedInPage('alice');
  await aliceInbox.goto(`${APP}/runbooks`);
  await aliceInbox
    .getByText('Waiting for someone else (1)')
    .waitFor({ timeout: 30_000 });
  await aliceInbox
    .getByText(
      'You requested this execution, so another person must approve it',
    )
    .first()
    .waitFor();
  await aliceInbox.close();

  // bob, on call, opens his inbox from the sidebar (on a phone-sized screen) and approves
  const bob = await signedInPage('bob', { width: 390, height: 844 });
  await bob.goto(`${APP}/runbooks`);
  await bob
    .getByText('Waiting for your approval (1)')
    .waitFor({ timeout: 30_000 });
  const item = bob.locator('[data-testid^="inbox-"]').first();
  assert.match(await item.textContent(), /restart-deployment on checkout/);
  assert.match(
    await item.getByTestId('blast-radius').textContent(),
    /storefront/,
  );
  assert.match(
    await item.locator('[data-testid^="inbox-diff-"]').textContent(),
    /restartedAt/,
  );
  await shot(bob, 'approvals-inbox-phone');
  await item
    .getByLabel('Comment')
    .fill('Checked the plan: only checkout restarts');
  await item.getByRole('button', { name: /^Approve the plan of/ }).click();
  await bob
    .getByText('Nothing waits for your approval')
    .waitFor({ timeout: 30_000 });

  // alice's page updates by itself: no reload, the same URL
  await alice
    .getByTestId('view-status')
    .filter({ hasText: 'succeeded' })
    .waitFor({ timeout: 90_000 });
  assert.equal(alice.url(), executionUrl);
  assert.match(
    await alice.getByTestId('decisions').first().textContent(),
    /Approved by bob .*Checked the plan: only checkout restarts/,
  );
  await alice.getByTestId('summary').waitFor({ timeout: 30_000 });
  await shot(alice, 'execution-finished-alice');

  // carol reviews the history: the execution with a verified signed record
  const carol = await signedInPage('carol');
  await carol.goto(`${APP}/catalog/default/component/checkout/runbooks`);
  await carol.getByText('Execution history').waitFor({ timeout: 60_000 });
  await carol.getByTestId('history-chart').waitFor();
  await carol.getByLabel('Requester').fill('alice');
  const newest = carol.locator('[data-testid^="execution-"]').first();
  await newest
    .getByTestId('execution-status')
    .filter({ hasText: 'succeeded' })
    .waitFor({ timeout: 30_000 });
  assert.match(
    await newest.textContent(),
    /restart-deployment · execute · by alice/,
  );
  await newest.getByRole('button').first().click();
  const badge = newest.locator('[data-testid^="provenance-"]');
  await badge.waitFor({ timeout: 30_000 });
  assert.match(
    await badge.textContent(),
    /Signed record verified \(\d+ statements\)/,
  );
  // carol reads and changes nothing: no run, cancel or kill-switch controls
  assert.equal(await carol.getByRole('button', { name: /^Run / }).count(), 0);
  assert.equal(
    await carol.getByRole('button', { name: 'Engage kill switch…' }).count(),
    0,
  );
  await shot(carol, 'history-carol');

  // bob engages the global kill switch; alice's next run is refused with the reason
  await bob.setViewportSize({ width: 1400, height: 1000 });
  await bob.goto(`${APP}/runbooks`);
  await bob.getByRole('button', { name: 'Engage kill switch…' }).click();
  await bob.getByLabel('Everything (global)').check();
  await bob
    .getByLabel('Reason')
    .fill('INC-99: freeze all changes during the failover');
  await bob.getByRole('button', { name: 'Engage', exact: true }).click();
  await bob.getByTestId('kill-switch-global').waitFor({ timeout: 30_000 });
  await shot(bob, 'kill-switch-engaged');

  await alice.goto(`${APP}/catalog/default/component/checkout/runbooks`);
  await alice.getByText('Runbooks (5)').waitFor({ timeout: 60_000 });
  assert.match(
    await alice.getByTestId('kill-switch-global').textContent(),
    /INC-99: freeze all changes during the failover/,
  );
  await alice.getByRole('button', { name: 'Run restart-deployment' }).click();
  await alice.getByRole('button', { name: 'Start dry-run' }).click();
  const refused = alice.getByRole('alert').filter({ hasText: 'Refused' });
  await refused.waitFor({ timeout: 30_000 });
  assert.match(
    await refused.textContent(),
    /Refused: the global kill switch is engaged \(by user:default\/bob: INC-99/,
  );
  await shot(alice, 'kill-switch-refused');

  // bob releases it, and runs are possible again
  await bob.getByRole('button', { name: /^Release: / }).click();
  await bob
    .getByRole('dialog', { name: 'Release the kill switch?' })
    .getByRole('button', { name: 'Release', exact: true })
    .click();
  await bob
    .getByTestId('kill-switch-global')
    .waitFor({ state: 'detached', timeout: 30_000 });

  await alice.close();
  await bob.close();
  await carol.close();
});
