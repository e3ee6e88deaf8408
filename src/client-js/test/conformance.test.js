// Issue 18: the web-platform-tests rows (background-fetch/) the client failed, each stated here against a real node
// process and a local origin, plus updateUI() and keepRecords.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  BackgroundFetchManager, QuotaExceededError, BackgroundFetchEvent, BackgroundFetchUpdateUIEvent, installBackgroundFetch,
} from '../index.js';
import { startNode, startOrigin, until } from './helpers.js';

let node;
let origin;
let scopeNumber = 0;

before(async () => {
  [node, origin] = await Promise.all([startNode(), startOrigin()]);
});

after(async () => {
  await Promise.all([node?.stop(), origin?.stop()]);
});

/** A fresh scope, and a second client of the same scope (another process would be no different). */
function clients(options = {}) {
  const scope = `conformance-${process.pid}-${++scopeNumber}`;
  const make = (extra = {}) => new BackgroundFetchManager({ node: node.url, scope, origin: origin.origin, ...options, ...extra });
  return { manager: make(), other: make({ keepRecords: true }) };
}

const isInvalidState = (error) => error instanceof DOMException && error.name === 'InvalidStateError';

test('fetch_RequestWithModeNoCors_RejectsWithTypeErrorFromTheNode', async () => {
  // WPT "Argument verification is done for BackgroundFetchManager.fetch()". The client sends the mode; the node refuses.
  const { manager } = clients();
  await assert.rejects(manager.fetch('no-cors', new Request(new URL('/ep-5.mp3', origin.origin), { mode: 'no-cors' })),
    (error) => error instanceof TypeError && error.status === 400 && /no-cors/.test(error.message));
  assert.deepEqual(await manager.getIds(), []);
  const cors = await manager.fetch('cors', new Request(new URL('/ep-5.mp3', origin.origin), { mode: 'cors' }));
  await cors.settled;
  assert.equal(cors.result, 'success');
});

test('fetch_EmptyUrl_ResolvesAgainstTheBaseUrlAndSucceeds', async () => {
  // WPT "Empty URL is OK.": '' is the page's own URL.
  const page = new URL('/ep-5.mp3', origin.origin).href;
  const manager = new BackgroundFetchManager({ node: node.url, scope: `empty-${process.pid}`, origin: page, keepRecords: true });
  const bgFetch = await manager.fetch('empty-url', '');
  await bgFetch.settled;
  assert.equal(bgFetch.result, 'success');
  const [record] = await bgFetch.matchAll();
  assert.equal(record.request.url, page);
});

test('fetch_OverTheQuota_ThrowsQuotaExceededErrorWithQuotaAndRequested', async () => {
  // WPT "Background Fetch that exceeds the quota throws a QuotaExceededError".
  const { manager } = clients();
  const requested = 200 * 1024 ** 3;
  const error = await manager.fetch('too-big', '/ep-5.mp3', { downloadTotal: requested }).then(() => null, (e) => e);
  assert.ok(error, 'fetch() should have rejected');
  assert.equal(error.constructor, globalThis.QuotaExceededError);
  assert.equal(globalThis.QuotaExceededError, QuotaExceededError);
  assert.ok(error instanceof DOMException);
  assert.equal(error.name, 'QuotaExceededError');
  assert.equal(error.quota, 100 * 1024 ** 3, 'the scope quota (BgFetch:Limits:ScopeQuotaBytes)');
  assert.equal(error.requested, requested, 'what the scope would hold with the fetch');
});

test('QuotaExceededError_Constructed_HasNullFiguresWhenUnknownAndChecksThem', () => {
  const plain = new QuotaExceededError('full');
  assert.equal(plain.name, 'QuotaExceededError');
  assert.equal(plain.message, 'full');
  assert.equal(plain.quota, null);
  assert.equal(plain.requested, null);
  assert.equal(new QuotaExceededError('x', { quota: 5, requested: 7 }).requested, 7);
  assert.throws(() => new QuotaExceededError('x', { quota: -1 }), RangeError);
  assert.throws(() => new QuotaExceededError('x', { quota: 10, requested: 5 }), RangeError);
});

test('backgroundfetchsuccess_AfterItsListenerAndWaitUntilPromisesFinish_RecordsAvailableIsFalseForEveryClient', async () => {
  // WPT "recordsAvailable is false after onbackgroundfetchsuccess finishes execution."
  const { manager, other } = clients();
  const bgFetch = await manager.fetch('released-after-event', ['/ep-5.mp3', 'ep-5-artwork.jpg']);
  const watcher = await other.get('released-after-event');
  assert.equal(bgFetch.recordsAvailable, true);
  let finishHandler;
  const seen = {};
  bgFetch.onbackgroundfetchsuccess = (event) => {
    assert.ok(event instanceof BackgroundFetchUpdateUIEvent);
    event.waitUntil((async () => {
      seen.records = (await event.registration.matchAll()).length;
      await new Promise((resolve) => { finishHandler = resolve; });
      seen.availableWhileExtended = bgFetch.recordsAvailable;
    })());
  };
  await until(() => finishHandler, 'the handler to read its records and wait');
  assert.equal(seen.records, 2);
  assert.equal(bgFetch.recordsAvailable, true, 'records stay while a waitUntil() promise is pending');
  finishHandler();
  await bgFetch.settled;
  assert.equal(seen.availableWhileExtended, true);
  // The two files are small: the settlement is often heard before the handler above is attached, and a listener
  // attached after it gets the event then, which `settled` (resolved when the settlement was heard) does not wait for.
  // The release follows that listener's promises all the same.
  await until(() => !bgFetch.recordsAvailable, 'recordsAvailable to turn false once the handler finished');
  await until(() => !watcher.recordsAvailable, "the other client's recordsAvailable to turn false (recordsreleased)");
  await assert.rejects(bgFetch.matchAll(), isInvalidState);
  await assert.rejects(watcher.match('/ep-5.mp3'), isInvalidState);
  assert.equal(await manager.get('released-after-event'), undefined);
});

test('keepRecords_True_KeepsRecordsAfterTheServiceWorkerEventUntilReleased', async () => {
  const { manager } = clients({ keepRecords: true });
  const bgFetch = await manager.fetch('kept', '/ep-5.mp3');
  const heard = [];
  bgFetch.addEventListener('backgroundfetchsuccess', (event) => heard.push(event.type));
  await bgFetch.settled;
  assert.deepEqual(heard, ['backgroundfetchsuccess']);
  assert.equal(bgFetch.recordsAvailable, true);
  assert.equal((await bgFetch.matchAll()).length, 1);
  await bgFetch.release();
  assert.equal(bgFetch.recordsAvailable, false);
  await assert.rejects(bgFetch.match('/ep-5.mp3'), isInvalidState);
});

test('looserVariant_OnsuccessAndGetFiles_KeepTheirRecords', async () => {
  // The seeds' onsuccess/onerror and getFiles() afterwards: no service-worker event heard, nothing released.
  const { manager } = clients();
  const bgFetch = await manager.fetch('looser', '/ep-5.mp3');
  let succeeded = false;
  bgFetch.onsuccess = () => { succeeded = true; };
  await bgFetch.settled;
  assert.ok(succeeded);
  assert.equal((await bgFetch.getFiles()).length, 1);
  assert.equal(bgFetch.recordsAvailable, true);
});

test('updateUI_WhileTheEventIsHandled_ChangesTheTitleForEveryClient_OnceOnly', async () => {
  const { manager, other } = clients({ keepRecords: true });
  const bgFetch = await manager.fetch('ui', '/ep-5.mp3', { title: 'Downloading episode 5' });
  const watcher = await other.get('ui');
  let kept;
  const outcomes = {};
  bgFetch.addEventListener('backgroundfetchsuccess', (event) => {
    kept = event;
    outcomes.first = event.updateUI({ title: 'Episode 5 is ready', icons: [{ src: '/done.png', sizes: '64x64', type: 'image/png' }] });
    outcomes.second = event.updateUI({ title: 'twice' }).then(() => 'resolved', (error) => error);
  });
  await bgFetch.settled;
  await outcomes.first;
  assert.ok(isInvalidState(await outcomes.second), 'a second updateUI() in one event rejects with InvalidStateError');
  await assert.rejects(kept.updateUI({ title: 'too late' }), isInvalidState);
  assert.throws(() => kept.waitUntil(Promise.resolve()), isInvalidState);
  assert.equal(bgFetch.title, 'Episode 5 is ready');
  assert.deepEqual(bgFetch.icons, [{ src: '/done.png', sizes: '64x64', type: 'image/png' }]);
  await until(() => watcher.title === 'Episode 5 is ready', "the other client's title (updateui)");
  assert.equal((await other.get('ui')).title, 'Episode 5 is ready');
});

test('updateUI_BadIcons_RejectsWithTypeErrorAndAbortEventHasNoUpdateUI', async () => {
  const { manager } = clients({ keepRecords: true });
  const failing = await manager.fetch('ui-bad', '/missing');
  let refused;
  failing.addEventListener('backgroundfetchfail', (event) => { refused = event.updateUI({ icons: [{ sizes: '1x1' }] }); });
  await failing.settled;
  await assert.rejects(refused, TypeError);
  assert.equal(failing.title, '');

  const aborted = await manager.fetch('ui-abort', '/slow?bytes=100000&chunks=50&delay=200');
  let abortEvent;
  aborted.addEventListener('backgroundfetchabort', (event) => { abortEvent = event; });
  await aborted.abort();
  await aborted.settled;
  assert.ok(abortEvent instanceof BackgroundFetchEvent);
  assert.equal(abortEvent.updateUI, undefined, 'backgroundfetchabort is a BackgroundFetchEvent, without updateUI()');
});

test('matchAll_QueryOptions_Are2Exact3IgnoreSearch3IgnoreMethod4Both', async () => {
  // WPT "Match with query options.": duplicates, one with a query, one PUT, and another URL.
  const { manager } = clients({ keepRecords: true });
  const url = new URL('/ep-5-artwork.jpg', origin.origin).href;
  const bgFetch = await manager.fetch('query-options', [
    url, url, `${url}?id=3`, new Request(url, { method: 'PUT', body: 'hi' }), '/ep-5.mp3',
  ]);
  await bgFetch.settled;
  assert.equal((await bgFetch.matchAll(url)).length, 2);
  assert.equal((await bgFetch.matchAll(url, { ignoreSearch: true })).length, 3);
  assert.equal((await bgFetch.matchAll(url, { ignoreMethod: true })).length, 3);
  assert.equal((await bgFetch.matchAll(url, { ignoreSearch: true, ignoreMethod: true })).length, 4);
});

test('installBackgroundFetch_WithOrigin_NewRequestRelativeResolvesAgainstIt_SeedStyleProgramRunsUnchanged', async () => {
  const scope = `install-${process.pid}`;
  const platformRequest = globalThis.Request;
  const manager = installBackgroundFetch({ node: node.url, scope, origin: origin.origin, keepRecords: true });
  const AsyncFunction = (async () => {}).constructor;
  const program = `
    const registration = await navigator.serviceWorker.ready;
    const bgFetch = await registration.backgroundFetch.fetch('relative-request', [new Request('/ep-5.mp3'), new Request('ep-5-artwork.jpg')]);
    return bgFetch;`;
  const bgFetch = await new AsyncFunction('navigator', program)(globalThis.navigator);
  await bgFetch.settled;
  assert.equal(bgFetch.result, 'success');
  const records = await bgFetch.matchAll();
  assert.deepEqual(records.map((r) => r.request.url), [new URL('/ep-5.mp3', origin.origin).href, new URL('ep-5-artwork.jpg', origin.origin).href]);
  assert.equal(new Request('https://example.com/x?y').url, 'https://example.com/x?y', 'absolute URLs are left alone');
  assert.equal(new Request(new URL('/z', origin.origin), { method: 'POST', body: 'b' }).method, 'POST');
  assert.ok(new Request('/x') instanceof platformRequest);
  assert.equal((await manager.get('relative-request')).id, 'relative-request');
});
