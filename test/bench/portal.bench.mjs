// Portal benchmark: the frontend plugin's bundle size (minified, gzip) and the time from navigation
// to the Runbooks tab being interactive (the Run button of a runbook enabled) in the local portal,
// in Debian's Chromium. Prints a table and writes test/artifacts/bench-portal.json. Figures, no
// pass/fail.
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  APP,
  artifacts,
  root,
  signedInPage,
  startPortal,
  stopPortal,
} from '../support/portal.mjs';

const ROUNDS = Number(process.env.BENCH_PORTAL_ROUNDS ?? 7);
const median = values => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const kb = bytes => Math.round(bytes / 102.4) / 10;

/** The packages a Backstage app already ships: the plugin does not add them. */
const SHARED =
  /^(@backstage\/|@material-ui\/|react$|react-dom|react\/|react-router|react-use)/;

/**
 * Bundles the plugin as the new frontend system loads it (src/alpha.tsx, its lazy pages as their
 * own chunks), minified; `external` decides which packages stay out.
 */
async function bundle(external) {
  const result = await build({
    entryPoints: [path.join(root, 'plugins/runbooks/src/alpha.tsx')],
    bundle: true,
    splitting: true,
    format: 'esm',
    minify: true,
    write: false,
    outdir: '/tmp/runbooks-bundle',
    jsx: 'automatic',
    logLevel: 'silent',
    metafile: true,
    plugins: [
      {
        name: 'externals',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, args =>
            external(args.path)
              ? { path: args.path, external: true }
              : undefined,
          );
        },
      },
    ],
  });
  let raw = 0;
  let gzip = 0;
  let entryGzip = 0;
  for (const file of result.outputFiles) {
    const z = gzipSync(file.contents, { level: 9 }).length;
    raw += file.contents.length;
    gzip += z;
    if (file.path.endsWith('/alpha.js')) entryGzip = z;
  }
  return { files: result.outputFiles.length, raw, gzip, entryGzip };
}

const rows = [];
const own = await bundle(p => !p.startsWith('@runbooks/'));
rows.push([
  'bundle: plugin code (+ runbooks-common), gzip',
  `${kb(own.gzip)} KiB`,
  `${kb(own.raw)} KiB minified, ${own.files} chunks; loaded at start ${kb(
    own.entryGzip,
  )} KiB gzip, the rest when a page opens`,
]);
const added = await bundle(p => SHARED.test(p));
rows.push([
  'bundle: what the plugin adds to a Backstage app, gzip',
  `${kb(added.gzip)} KiB`,
  `${kb(added.raw)} KiB minified, ${
    added.files
  } chunks (with zod and the other packages a Backstage app does not already ship)`,
]);

const browser = await startPortal();
const timings = { full: [], inApp: [] };
try {
  const page = await signedInPage(browser, 'alice');
  const tab = `${APP}/catalog/default/component/checkout/runbooks`;
  // ms since the navigation started when the Run button of restart-deployment is enabled
  const interactive = () =>
    page.waitForFunction(
      () => {
        const button = document.querySelector(
          'button[aria-label="Run restart-deployment"]',
        );
        return button && !button.disabled ? performance.now() : false;
      },
      undefined,
      { polling: 'raf', timeout: 120_000 },
    );
  for (let round = 0; round <= ROUNDS; round++) {
    // a full load of the tab's URL (the app's bundle from the dev server's cache)
    await page.goto('about:blank');
    await page.goto(tab, { waitUntil: 'commit' });
    const full = await (await interactive()).jsonValue();

    // in the app: from the entity's overview, a click on the Runbooks tab
    await page.goto(`${APP}/catalog/default/component/checkout`);
    const link = page
      .locator('a[href="/catalog/default/component/checkout/runbooks"]')
      .first();
    await link.waitFor({ timeout: 60_000 });
    const clickedAt = await page.evaluate(() => performance.now());
    await link.click();
    const inApp = (await (await interactive()).jsonValue()) - clickedAt;
    // round 0 warms the dev server's compilation and the browser cache
    if (round > 0) {
      timings.full.push(full);
      timings.inApp.push(inApp);
    }
  }
} finally {
  await stopPortal(browser);
}
rows.push([
  'Runbooks tab interactive: full page load',
  `${Math.round(median(timings.full))} ms`,
  `median of ${ROUNDS}; min ${Math.round(
    Math.min(...timings.full),
  )}, max ${Math.round(
    Math.max(...timings.full),
  )}; dev server (npm start), warm`,
]);
rows.push([
  'Runbooks tab interactive: tab click in the app',
  `${Math.round(median(timings.inApp))} ms`,
  `median of ${ROUNDS}; min ${Math.round(
    Math.min(...timings.inApp),
  )}, max ${Math.round(
    Math.max(...timings.inApp),
  )}; includes loading the runbooks, stats, history and proposals`,
]);

const width = Math.max(...rows.map(r => r[0].length));
console.log('\nPortal (Runbooks tab, frontend plugin)\n');
for (const [what, value, note] of rows) {
  console.log(`${what.padEnd(width)}  ${value.padStart(10)}  ${note}`);
}
writeFileSync(
  path.join(artifacts, 'bench-portal.json'),
  JSON.stringify({ rows, bundle: { own, added }, timings }, null, 2),
);
