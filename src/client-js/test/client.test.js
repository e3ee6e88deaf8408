// The client against a real node process and a local origin (docs/api.md).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BackgroundFetchManager, BackgroundFetchRegistration, BackgroundFetchRecord } from '../index.js';
import { startNode, startOrigin, bytes, until } from './helpers.js';

let node;
let origin;
let scopeNumber = 0;

before(async () => {
  [node, origin] = await Promise.all([startNode(), startOrigin()]);
});

after(async () => {
  await Promise.all([node?.stop(), origin?.stop()]);
});

function manager(options = {}) {
  return new BackgroundFetchManager({ node: node.url, scope: `client-${process.pid}-${++scopeNumber}`, origin: origin.origin, ...options });
}

test('fetch_RelativeUrls_ResolveAgainstOriginAndSucceedWithStreamedBodies', async () => {
  // keepRecords: the backgroundfetchsuccess listener would otherwise release the records once it has run.
  const bgFetch = await manager({ keepRecords: true }).fetch('episode', ['/ep-5.mp3', 'ep-5-artwork.jpg'], { title: 'Episode 5', downloadTotal: 1024 * 1024 });
  assert.ok(bgFetch instanceof BackgroundFetchRegistration);
  assert.equal(bgFetch.id, 'episode');
  assert.equal(bgFetch.title, 'Episode 5');
  assert.equal(bgFetch.downloadTotal, 1024 * 1024);
  const outcomes = [];
  bgFetch.addEventListener('backgroundfetchsuccess', () => outcomes.push('backgroundfetchsuccess'));
  bgFetch.addEventListener('success', () => outcomes.push('success'));
  await bgFetch.settled;
  assert.equal(bgFetch.result, 'success');
  assert.equal(bgFetch.status, 'completed');
  assert.equal(bgFetch.downloaded, 64 * 1024 + 8 * 1024);
  assert.equal(bgFetch.downloadedBytes, bgFetch.downloaded);
  assert.deepEqual(outcomes, ['backgroundfetchsuccess', 'success']);

  const record = await bgFetch.match('/ep-5.mp3');
  assert.ok(record instanceof BackgroundFetchRecord);
  assert.ok(record.request instanceof Request);
  assert.equal(record.request.url, new URL('/ep-5.mp3', origin.origin).href);
  const response = await record.responseReady;
  assert.ok(response instanceof Response);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'audio/mpeg');
  assert.deepEqual(Buffer.from(await response.arrayBuffer()), bytes(64 * 1024, 5));

  const all = await bgFetch.matchAll();
  assert.deepEqual(all.map((r) => new URL(r.request.url).pathname), ['/ep-5.mp3', '/ep-5-artwork.jpg']);
  assert.equal((await bgFetch.getFiles()).length, 2);
  assert.equal(await bgFetch.match('/nothing-here'), undefined);
});

test('fetch_SlowDownload_DispatchesProgressWithDoneAndTotalAndUpdatesFields', async () => {
  const bgFetch = await manager().fetch('slow', '/slow?bytes=800000&chunks=8&delay=250', { downloadTotal: 800000 });
  const progress = [];
  bgFetch.onprogress = (event) => progress.push({ done: event.done, total: event.total, downloaded: bgFetch.downloaded });
  const statuses = new Set([bgFetch.status]);
  bgFetch.addEventListener('progress', () => statuses.add(bgFetch.status));
  await bgFetch.settled;
  assert.ok(progress.length >= 2, `expected several progress events, got ${JSON.stringify(progress)}`);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i].done >= progress[i - 1].done, 'done never decreases');
  assert.equal(progress.at(-1).done, 800000);
  assert.ok(progress.every((p) => p.total === 800000 && p.done === p.downloaded));
  assert.ok(statuses.has('in-progress'), `statuses seen: ${[...statuses]} ${JSON.stringify(progress)}`);
  assert.ok(statuses.has('completed'));
});

test('fetch_RequestObjectWithBody_SendsMethodHeadersAndBodyAsUpload', async () => {
  const bgFetch = await manager().fetch('upload', [
    new Request(new URL('/echo?x=1', origin.origin), { method: 'POST', headers: { 'Content-Type': 'text/plain', 'X-Test': 'yes' }, body: 'hello background fetch' }),
  ]);
  assert.equal(bgFetch.uploadTotal, 22);
  await bgFetch.settled;
  assert.equal(bgFetch.result, 'success');
  assert.equal(bgFetch.uploaded, 22);
  const seen = origin.requests.find((r) => r.path === '/echo' && r.search === '?x=1');
  assert.equal(seen.method, 'POST');
  assert.equal(seen.headers['x-test'], 'yes');
  assert.equal(seen.body.toString(), 'hello background fetch');
  const [record] = await bgFetch.matchAll('/echo', { ignoreSearch: true, ignoreMethod: true });
  assert.equal(record.request.method, 'POST');
  assert.equal(await (await record.responseReady).text(), 'hello background fetch');
  assert.equal((await bgFetch.matchAll('/echo')).length, 0, 'without ignoreSearch and ignoreMethod nothing matches');
});

test('get_And_getIds_SeeActiveRegistrations_AndUnknownIdIsUndefined', async () => {
  const backgroundFetch = manager();
  const first = await backgroundFetch.fetch('one', '/slow?bytes=4000&chunks=4&delay=300');
  const second = await backgroundFetch.fetch('two', '/slow?bytes=4000&chunks=4&delay=300');
  assert.deepEqual(await backgroundFetch.getIds(), ['one', 'two']);
  const again = await backgroundFetch.get('two');
  assert.equal(again.id, 'two');
  assert.equal(await backgroundFetch.get('three'), undefined);
  await Promise.all([first.settled, second.settled, again.settled]);
  assert.deepEqual(await backgroundFetch.getIds(), []);
  assert.equal((await backgroundFetch.get('one')).result, 'success', 'a settled registration stays readable until released');
});

test('fetch_DuplicateActiveId_RejectsWithTypeError', async () => {
  const backgroundFetch = manager();
  const first = await backgroundFetch.fetch('same', '/slow?bytes=4000&chunks=4&delay=300');
  await assert.rejects(backgroundFetch.fetch('same', '/ep-5.mp3'), TypeError);
  await assert.rejects(backgroundFetch.fetch('bad', 'ftp://example.com/x'), TypeError);
  await first.settled;
});

test('abort_ActiveFetch_FailsWithAbortedAndLateHandlersHearItOnce', async () => {
  const bgFetch = await manager({ keepRecords: true }).fetch('abort-me', '/slow?bytes=100000&chunks=50&delay=200');
  const events = [];
  bgFetch.addEventListener('backgroundfetchabort', () => events.push('backgroundfetchabort'));
  const early = (event) => events.push(`failure:${event.reason}`);
  bgFetch.addEventListener('failure', early);
  assert.equal(await bgFetch.abort(), true);
  await bgFetch.settled;
  assert.equal(bgFetch.result, 'failure');
  assert.equal(bgFetch.failureReason, 'aborted');
  assert.equal(await bgFetch.abort(), false);
  // Attached after settling: heard once, and the early listener is not replayed.
  bgFetch.onerror = (event) => events.push(`onerror:${event.reason}`);
  bgFetch.addEventListener('failure', early);
  await until(() => events.includes('onerror:aborted'), 'the late onerror handler');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(events, ['backgroundfetchabort', 'failure:aborted', 'onerror:aborted']);
  const [record] = await bgFetch.matchAll();
  await assert.rejects(record.responseReady, (error) => error.name === 'AbortError');
  await bgFetch.release();
  assert.equal(await manager().get('abort-me'), undefined);
});

test('fetch_NotFoundTarget_FailsWithBadStatusAndKeepsTheResponse', async () => {
  const bgFetch = await manager().fetch('missing', ['/missing']);
  const reasons = [];
  bgFetch.onsuccess = () => reasons.push('success');
  bgFetch.onerror = (event) => reasons.push(event.reason);
  await bgFetch.settled;
  await until(() => reasons.length > 0, 'the outcome');
  assert.deepEqual(reasons, ['bad-status']);
  const record = await bgFetch.match(new Request(new URL('/missing', origin.origin)));
  const response = await record.responseReady;
  assert.equal(response.status, 404);
  assert.equal(await response.text(), 'not here');
});
