// The four seed pages' example code, exactly as printed (read from the pages themselves), against a real
// node and a local origin. The glue only installs the client, captures the console, and awaits the outcome.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { installBackgroundFetch } from '../index.js';
import { startNode, startOrigin, seedExamples, until, bytes } from './helpers.js';

const AsyncFunction = (async () => {}).constructor;

let node;
let origin;

before(async () => {
  [node, origin] = await Promise.all([startNode(), startOrigin()]);
});

after(async () => {
  await Promise.all([node?.stop(), origin?.stop()]);
});

/** A console that records what the example prints (and still shows it in the test output). */
function capturingConsole() {
  const lines = [];
  const record = (level) => (...args) => {
    lines.push({ level, args, text: args.map((a) => (typeof a === 'string' ? a : String(a))).join(' ') });
  };
  return { lines, log: record('log'), error: record('error'), info: record('info'), warn: record('warn') };
}

/** Installs the client for a fresh scope, as a page at the local origin would have it. */
function install(scope) {
  return installBackgroundFetch({ node: node.url, scope: `${scope}-${process.pid}`, origin: origin.origin });
}

/** Runs printed example code unchanged; `before`/`after` are glue lines around it. */
function run(code, { prefix = '', suffix = '', bindings = {} } = {}) {
  const names = Object.keys(bindings);
  const body = `${prefix}\n${code}\n${suffix}`;
  return new AsyncFunction('navigator', ...names, body)(globalThis.navigator, ...names.map((n) => bindings[n]));
}

const has = (console, text) => console.lines.some((line) => line.text.includes(text));

test('seed 000 (es, BackgroundFetchRecord): iniciarDescarga() runs unchanged and hears the outcome', async () => {
  const [example] = seedExamples('000_1ea6be2772841fc5.txt');
  assert.match(example, /async function iniciarDescarga\(\)/);
  const manager = install('seed-es');
  const console = capturingConsole();
  await run(example, { suffix: 'await iniciarDescarga();', bindings: { console } });
  assert.ok(has(console, 'Descarga iniciada: descargaEjemplo'), JSON.stringify(console.lines));
  // https://ejemplo.com/archivo.zip: offline it fails (fetch-error), online it may succeed; exactly one outcome is heard.
  await until(() => has(console, 'Descarga completada exitosamente.') || has(console, 'Error en la descarga.'), 'onsuccess or onerror', 30000);
  const registration = await manager.get('descargaEjemplo');
  await registration.settled;
  await new Promise((resolve) => setTimeout(resolve, 100));
  const outcomes = console.lines.filter((l) => l.text === 'Descarga completada exitosamente.' || l.text === 'Error en la descarga.');
  assert.equal(outcomes.length, 1, JSON.stringify(console.lines));
  assert.equal(outcomes[0].text === 'Descarga completada exitosamente.', registration.result === 'success');
  for (const line of console.lines.filter((l) => l.text.startsWith('Progreso:'))) {
    assert.match(line.text, /^Progreso: \d+ de \d+ bytes descargados\.$/);
  }
});

test('seed 001 (zh, BackgroundFetchRecord): navigator.backgroundFetch.fetch(...).then(...) runs unchanged and hears the outcome', async () => {
  const [example] = seedExamples('001_4cf92fc10ac0bb79.txt');
  assert.match(example, /navigator\.backgroundFetch\.fetch\("my-fetch"/);
  const manager = install('seed-zh');
  const console = capturingConsole();
  await run(example, { bindings: { console } });
  await until(() => has(console, '擷取成功！') || has(console, '擷取失敗，原因：'), 'the success or failure listener', 30000);
  assert.ok(console.lines.some((l) => l.args[0] === '背景擷取已開始：' && l.args[1] === 'my-fetch'), JSON.stringify(console.lines));
  assert.ok(!has(console, '無法開始背景擷取'), JSON.stringify(console.lines));
  const registration = await manager.get('my-fetch');
  await registration.settled;
  const failure = console.lines.find((l) => l.args[0] === '擷取失敗，原因：');
  if (registration.result === 'failure') {
    // The listeners are attached after the promise resolves; the outcome is still heard, with its reason.
    assert.equal(failure.args[1], registration.failureReason);
    assert.ok(['fetch-error', 'bad-status'].includes(failure.args[1]), failure.args[1]);
  } else {
    assert.ok(has(console, '擷取成功！'));
  }
  for (const line of console.lines.filter((l) => l.args[0]?.startsWith?.('已下載：'))) {
    assert.match(line.text, /^已下載：\d+ 字節$/);
  }
});

test('seed 002 (ru, BackgroundFetchRegistration): fetch, bgFetch.id and bgFetch.match("/ep-5.mp3") run unchanged against the origin', async () => {
  const [create, logId, match] = seedExamples('002_f59de1d9087b805f.txt');
  assert.match(create, /swReg\.backgroundFetch\.fetch\(/);
  const manager = install('seed-ru');
  const console = capturingConsole();
  await run(create, { bindings: { console } });
  // The page's later snippets use the `bgFetch` the first one made; the glue hands it over.
  const bgFetch = await until(() => manager.get('my-fetch'), 'the registration my-fetch');
  await run(logId, { bindings: { console, bgFetch } });
  assert.equal(console.lines[0].text, 'my-fetch');
  await run(match, { bindings: { console, bgFetch } });
  await until(() => console.lines.some((l) => l.args[0] === 'И ответ'), 'the response to be logged');
  assert.ok(!has(console, 'No record found'));
  const request = console.lines.find((l) => l.args[0] === 'Запрос').args[1];
  assert.equal(request.url, new URL('/ep-5.mp3', origin.origin).href);
  const response = console.lines.find((l) => l.args[0] === 'И ответ').args[1];
  assert.equal(response.status, 200);
  assert.deepEqual(Buffer.from(await response.arrayBuffer()), bytes(64 * 1024, 5));
  await bgFetch.settled;
  assert.equal(bgFetch.result, 'success');
  assert.equal(bgFetch.title, 'Episode 5: Interesting things.');
  assert.equal(bgFetch.downloadTotal, 60 * 1024 * 1024);
});

test('seed 003 (de, BackgroundFetchManager): navigator.serviceWorker.ready.then(...) runs unchanged and downloads both files', async () => {
  const [example] = seedExamples('003_7b0665605d0f2cf2.txt');
  const manager = install('seed-de');
  await run(example, { bindings: { console: capturingConsole() } });
  const bgFetch = await until(() => manager.get('my-fetch'), 'the registration my-fetch');
  assert.deepEqual(bgFetch.icons, [{ src: '/ep-5-icon.png', sizes: '300x300', type: 'image/png' }]);
  await bgFetch.settled;
  assert.equal(bgFetch.result, 'success');
  const records = await bgFetch.matchAll();
  assert.deepEqual(records.map((r) => r.request.url), [new URL('/ep-5.mp3', origin.origin).href, new URL('ep-5-artwork.jpg', origin.origin).href]);
  const artwork = await (await bgFetch.match('ep-5-artwork.jpg')).responseReady;
  assert.equal(artwork.headers.get('content-type'), 'image/jpeg');
  assert.deepEqual(Buffer.from(await artwork.arrayBuffer()), bytes(8 * 1024, 7));
});
