// The /dashboard page in real headless Chromium (Debian's chromium, driven by playwright-core) against a real node:
// it shows the cluster, the shards and a running registration whose progress bar moves, and asks for an admin key
// when the API answers 401. Fails loudly when Chromium is missing; scripts/test.sh installs it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { BackgroundFetchManager } from '../index.js';
import { startNode, startOrigin } from '../test/helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const outputDirectory = join(here, 'test-results');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let browser;
let origin;

before(async () => {
  assert.ok(existsSync(executablePath), `${executablePath} is missing: apt-get install -y chromium (scripts/test.sh does)`);
  mkdirSync(outputDirectory, { recursive: true });
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  origin = await startOrigin();
});

after(async () => {
  await browser?.close();
  await origin?.stop();
});

test('dashboard_RunningRegistration_ShowsClusterShardsAndAMovingProgressBar', async () => {
  const node = await startNode();
  try {
    const backgroundFetch = new BackgroundFetchManager({ node: node.url, scope: 'podcasts', origin: origin.origin });
    const done = await backgroundFetch.fetch('episode-5', ['/ep-5.mp3', 'ep-5-artwork.jpg'], { title: 'Episode 5: Interesting things.' });
    await done.settled;
    const movie = await backgroundFetch.fetch('movie', ['/slow?bytes=6000000&chunks=60&delay=150', '/ep-5.mp3'],
      { title: 'A long download', downloadTotal: 6000000 + 64 * 1024 });
    const other = new BackgroundFetchManager({ node: node.url, scope: 'uploads', origin: origin.origin });
    const upload = await other.fetch('report', [new Request(new URL('/slow?bytes=3000000&chunks=40&delay=200', origin.origin),
      { method: 'POST', body: 'x'.repeat(2048), headers: { 'Content-Type': 'text/plain' } })], { title: 'Nightly report' });

    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${node.url}/dashboard`);
    await page.waitForSelector('#members tbody tr', { timeout: 15000 });
    assert.match(await page.textContent('#members tbody'), /Up/);
    await page.waitForSelector('#sharding tbody tr[data-region]', { timeout: 15000 });

    const bar = page.locator('#registrations tr[data-scope="podcasts"][data-id="movie"] progress');
    await bar.waitFor({ timeout: 15000 });
    await page.waitForSelector('#registrations tr[data-scope="uploads"][data-id="report"]', { timeout: 15000 });
    const first = Number(await bar.getAttribute('value'));
    await page.waitForFunction((value) => {
      const progress = document.querySelector('#registrations tr[data-scope="podcasts"][data-id="movie"] progress');
      return progress && Number(progress.getAttribute('value')) > value && Number(progress.getAttribute('value')) < 6000000;
    }, first, { timeout: 20000, polling: 100 });
    const second = Number(await bar.getAttribute('value'));
    assert.ok(second > first, `the progress bar moved from ${first} to ${second}`);
    assert.equal(Number(await bar.getAttribute('max')), 6000000 + 64 * 1024);

    await page.click('#registrations tr[data-id="movie"] button:has-text("records")');
    await page.waitForSelector('#records tbody tr[data-index="1"]', { timeout: 10000 });
    assert.match(await page.textContent('#records tbody'), /\/slow\?bytes=6000000/);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(outputDirectory, 'dashboard.png'), fullPage: true });

    // The abort button aborts the running upload; the row then shows the outcome from the event stream.
    await page.click('#registrations tr[data-id="report"] button.abort');
    await page.waitForSelector('#registrations tr[data-id="report"] .pill.aborted', { timeout: 10000 });
    await upload.settled;
    assert.equal(upload.failureReason, 'aborted');

    // Release removes the registration (confirm() is accepted).
    page.on('dialog', (dialog) => dialog.accept());
    await page.click('#registrations tr[data-id="report"] button.release');
    await page.waitForSelector('#registrations tr[data-id="report"]', { state: 'detached', timeout: 10000 });
    assert.equal(await other.get('report'), undefined);

    assert.deepEqual(errors, []);
    await page.close();
    await movie.abort();
    await movie.settled;
  } finally {
    await node.stop();
  }
});

test('dashboard_WithApiKeys_AsksForTheAdminKeyAndThenShowsTheCluster', async () => {
  const node = await startNode(['--BgFetch:Auth:ApiKeys:app-key=podcasts', '--BgFetch:Auth:AdminKeys:ops-key=operator']);
  try {
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    await page.goto(`${node.url}/dashboard`);
    await page.waitForSelector('#key-form:not([hidden])', { timeout: 15000 });
    assert.equal(await page.locator('#members tbody tr').count(), 0);
    await page.fill('#key-input', 'ops-key');
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector('#members tbody tr', { timeout: 15000 });
    assert.ok(await page.locator('#key-form').isHidden());
    await page.close();
  } finally {
    await node.stop();
  }
});

test('dashboard_WithApiKeysAndAdminKey_ProgressRecordsTitleAbortAndReleaseGoThroughTheAdminPaths', async () => {
  // Issue 18, item 4: with API keys on, the admin key opens no scope's own API; the page works through
  // /v1/admin/scopes/{scope}/registrations/{id}/... only.
  const node = await startNode([
    '--BgFetch:Auth:ApiKeys:podcasts-key=podcasts', '--BgFetch:Auth:ApiKeys:uploads-key=uploads', '--BgFetch:Auth:AdminKeys:ops-key=operator',
  ]);
  try {
    const podcasts = new BackgroundFetchManager({ node: node.url, apiKey: 'podcasts-key', origin: origin.origin });
    const uploads = new BackgroundFetchManager({ node: node.url, apiKey: 'uploads-key', origin: origin.origin });
    const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    const errors = [];
    const calls = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path.startsWith('/v1/')) calls.push(path);
    });
    await page.goto(`${node.url}/dashboard`);
    await page.waitForSelector('#key-form:not([hidden])', { timeout: 15000 });
    await page.fill('#key-input', 'ops-key');
    await page.click('#key-form button[type="submit"]');
    await page.waitForSelector('#members tbody tr', { timeout: 15000 });

    const movie = await podcasts.fetch('movie', ['/slow?bytes=6000000&chunks=60&delay=150'], { title: 'A long download', downloadTotal: 6000000 });
    const report = await uploads.fetch('report', ['/slow?bytes=3000000&chunks=300&delay=200'], { title: 'Nightly report' });
    // Settles after the page follows it; its service-worker handler renames it, then its records are released.
    const episode = await podcasts.fetch('episode-6', ['/slow?bytes=200000&chunks=40&delay=200'], { title: 'Episode 6' });
    episode.addEventListener('backgroundfetchsuccess', (event) => event.waitUntil(event.updateUI({ title: 'Episode 6 is ready' })));

    // Progress: the bar moves, fed by the admin event stream.
    const bar = page.locator('#registrations tr[data-scope="podcasts"][data-id="movie"] progress');
    await bar.waitFor({ timeout: 15000 });
    const first = Number(await bar.getAttribute('value'));
    await page.waitForFunction((value) => {
      const progress = document.querySelector('#registrations tr[data-scope="podcasts"][data-id="movie"] progress');
      return progress && Number(progress.getAttribute('value')) > value;
    }, first, { timeout: 20000, polling: 100 });

    // Records of another scope.
    await page.click('#registrations tr[data-id="movie"] button:has-text("records")');
    await page.waitForSelector('#records tbody tr[data-index="0"]', { timeout: 10000 });
    assert.match(await page.textContent('#records tbody'), /\/slow\?bytes=6000000/);

    // updateUI() from the client's service-worker handler: the new title, then the records released.
    await page.waitForSelector('#registrations tr[data-id="episode-6"]', { timeout: 15000 });
    await episode.settled;
    await page.waitForFunction(() => {
      const row = document.querySelector('#registrations tr[data-id="episode-6"]');
      return row && row.textContent.includes('Episode 6 is ready') && row.querySelector('.pill.released');
    }, null, { timeout: 15000, polling: 100 });

    // Abort, then release, of the other scope's registration.
    await page.click('#registrations tr[data-scope="uploads"][data-id="report"] button.abort');
    await page.waitForSelector('#registrations tr[data-id="report"] .pill.aborted', { timeout: 10000 });
    await report.settled;
    assert.equal(report.failureReason, 'aborted');
    page.on('dialog', (dialog) => dialog.accept());
    await page.click('#registrations tr[data-id="report"] button.release');
    await page.waitForSelector('#registrations tr[data-id="report"]', { state: 'detached', timeout: 10000 });
    assert.equal(await uploads.get('report'), undefined);

    await page.screenshot({ path: join(outputDirectory, 'dashboard-admin.png'), fullPage: true });
    assert.deepEqual(errors, []);
    assert.deepEqual(calls.filter((path) => !path.startsWith('/v1/admin/')), [], 'every call of the page goes through the admin API');
    assert.ok(calls.some((path) => path.startsWith('/v1/admin/scopes/podcasts/registrations/movie/events')));
    await page.close();
    await movie.abort();
    await movie.settled;
  } finally {
    await node.stop();
  }
});
