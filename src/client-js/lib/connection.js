// The connection to one node, and the serialization of fetch()'s requests (docs/api.md, "fetch(id, requests, options)").

import { problemOf } from './errors.js';
import { openEventStream, openEventStreamWithFetch } from './stream.js';

/** The platform's Request, whatever installBackgroundFetch({ origin }) later puts on globalThis. */
export const PlatformRequest = globalThis.Request;

function toBase64(bytes) {
  return Buffer.from(bytes).toString('base64');
}

/** The connection to one node: base address, key, scope and the page origin relative URLs resolve against. */
export class Connection {
  constructor({ node, apiKey, scope, origin, keepRecords, fetch: fetchImpl } = {}) {
    if (!node) throw new TypeError('installBackgroundFetch: `node` (the node\'s base URL) is required');
    this.node = String(node).replace(/\/+$/, '');
    this.apiKey = apiKey;
    this.scope = scope;
    this.origin = origin ? String(origin) : undefined;
    // Records stay on the node until released explicitly, even after the service-worker events were handled.
    this.keepRecords = keepRecords === true;
    this.customFetch = fetchImpl;
    this.fetch = fetchImpl ?? globalThis.fetch.bind(globalThis);
  }

  /** Opens an event stream (see lib/stream.js); over node:http unless a fetch implementation was given. */
  stream(path, signal) {
    const headers = this.headers();
    return this.customFetch
      ? openEventStreamWithFetch(this.customFetch, this.url(path), headers, signal)
      : openEventStream(this.url(path), headers, signal);
  }

  headers(extra = {}) {
    const headers = { ...extra };
    if (this.apiKey) headers.Authorization = `Bearer ${this.apiKey}`;
    if (this.scope) headers['X-BgFetch-Scope'] = this.scope;
    return headers;
  }

  url(path) {
    return path.startsWith('http://') || path.startsWith('https://') ? path : this.node + path;
  }

  async call(method, path, { body, signal, headers } = {}) {
    const init = { method, headers: this.headers(headers), signal };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers['Content-Type'] = 'application/json';
    }
    return this.fetch(this.url(path), init);
  }

  async json(method, path, options) {
    const response = await this.call(method, path, options);
    if (!response.ok) throw await problemOf(response);
    return response.json();
  }

  /** A URL given to match()/matchAll(): relative ones resolve against the page origin, as in a browser. */
  resolve(url) {
    if (!this.origin) return url;
    try {
      return new URL(url, this.origin).href;
    } catch {
      return url;
    }
  }
}

/** Serializes one entry of `requests` for `POST /v1/registrations` (a URL string or a Request). */
export async function serializeRequest(request) {
  if (typeof request === 'string' || request instanceof URL) return String(request);
  if (request instanceof PlatformRequest) {
    // The mode travels too: the node refuses 'no-cors' (Background Fetch, fetch(): a TypeError).
    const entry = { url: request.url, method: request.method, mode: request.mode };
    const headers = Object.fromEntries(request.headers.entries());
    if (Object.keys(headers).length > 0) entry.headers = headers;
    if (request.body !== null && request.method !== 'GET' && request.method !== 'HEAD') {
      entry.body = toBase64(new Uint8Array(await request.clone().arrayBuffer()));
    }
    return entry;
  }
  if (request && typeof request === 'object' && typeof request.url === 'string') {
    // A plain request object in the API's own shape; a string/bytes body is encoded here.
    const entry = { ...request };
    if (typeof entry.body === 'string') entry.body = toBase64(Buffer.from(entry.body, 'utf8'));
    else if (entry.body instanceof Uint8Array || entry.body instanceof ArrayBuffer) entry.body = toBase64(new Uint8Array(entry.body));
    return entry;
  }
  throw new TypeError('requests must be URL strings, Request objects, or an array of them');
}
