// Test fixtures: a real node process (the Release build of src/Node) and a local origin on loopback.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, rmSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const nodeDll = join(here, '..', '..', 'Node', 'bin', 'Release', 'net10.0', 'BgFetchCluster.Node.dll');

export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Awaits `condition()` until it returns a truthy value, failing with `what` after `timeoutMs`. */
export async function until(condition, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts one embedded node (Development: no keys, scope from X-BgFetch-Scope) and waits for /ready. */
export async function startNode(extraArgs = []) {
  if (!existsSync(nodeDll)) {
    throw new Error(`${nodeDll} is missing: build the node first (dotnet build -c Release)`);
  }
  const port = await freePort();
  const dataDirectory = mkdtempSync(join(tmpdir(), 'bgfetch-js-'));
  const url = `http://127.0.0.1:${port}`;
  const child = spawn('dotnet', [
    nodeDll,
    `--urls=${url}`,
    `--BgFetch:Storage:DataDirectory=${dataDirectory}`,
    '--BgFetch:Fetch:MaxAttempts=1',
    '--BgFetch:Fetch:ConnectTimeout=00:00:03',
    ...extraArgs,
  ], {
    env: { ...process.env, ASPNETCORE_ENVIRONMENT: 'Development', DOTNET_ENVIRONMENT: 'Development' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => { output = (output + chunk).slice(-20000); });
  child.stderr.on('data', (chunk) => { output = (output + chunk).slice(-20000); });
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  try {
    await until(async () => {
      if (exited !== null) throw new Error(`the node exited with ${exited}:\n${output}`);
      try {
        return (await fetch(`${url}/ready`)).status === 200;
      } catch {
        return false;
      }
    }, `${url}/ready to answer 200`, 90000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    output: () => output,
    async stop() {
      if (exited === null) {
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dataDirectory, { recursive: true, force: true });
    },
  };
}

/**
 * The page's origin: `/ep-5.mp3` and friends, `/slow?bytes=&chunks=&delay=` (a body in timed chunks),
 * `/echo` (answers with the request body), `/missing` (404).
 */
export async function startOrigin() {
  const requests = [];
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url, 'http://origin');
    requests.push({ method: req.method, path: url.pathname, search: url.search, headers: req.headers, body });
    if (url.pathname === '/ep-5.mp3') {
      res.writeHead(200, { 'Content-Type': 'audio/mpeg' });
      res.end(bytes(64 * 1024, 5));
    } else if (url.pathname === '/ep-5-artwork.jpg') {
      res.writeHead(200, { 'Content-Type': 'image/jpeg' });
      res.end(bytes(8 * 1024, 7));
    } else if (url.pathname === '/slow') {
      const total = Number(url.searchParams.get('bytes') ?? 65536);
      const parts = Number(url.searchParams.get('chunks') ?? 8);
      const delay = Number(url.searchParams.get('delay') ?? 200);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(total) });
      const data = bytes(total, 3);
      const size = Math.ceil(total / parts);
      for (let offset = 0; offset < total; offset += size) {
        if (res.destroyed) return;
        res.write(data.subarray(offset, Math.min(total, offset + size)));
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
      res.end();
    } else if (url.pathname === '/echo') {
      res.writeHead(200, { 'Content-Type': req.headers['content-type'] ?? 'application/octet-stream' });
      res.end(body);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not here');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}/`;
  return {
    origin,
    requests,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Deterministic bytes: byte i is (i * factor) mod 251. */
export function bytes(length, factor) {
  const data = Buffer.alloc(length);
  for (let i = 0; i < length; i++) data[i] = (i * factor) % 251;
  return data;
}

/** The ```js / ```javascript code blocks of a seed page, exactly as printed. */
export function seedExamples(fileName) {
  const text = readFileSync(join(here, 'seeds', fileName), 'utf8');
  return [...text.matchAll(/```(?:js|javascript)\n([\s\S]*?)```/g)].map((match) => match[1]);
}

export const seedFiles = readdirSync(join(here, 'seeds')).sort();
