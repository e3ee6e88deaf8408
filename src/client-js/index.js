// bgfetch-client: the W3C Background Fetch API over a BgFetchCluster node's HTTP API (docs/api.md).
// No runtime dependencies: Node.js 20 or newer brings fetch, Request, Response, EventTarget and DOMException.

const TERMINAL_EVENTS = new Set(['backgroundfetchsuccess', 'backgroundfetchfail', 'backgroundfetchabort']);

/** Turns an `application/problem+json` answer into the exception the browser API would raise. */
async function problemOf(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    // not a problem body: keep the status line
  }
  const message = body.detail || body.title || `${response.status} ${response.statusText}`;
  const name = body.name || (response.status === 404 ? 'NotFoundError' : 'TypeError');
  const error = name === 'TypeError' ? new TypeError(message) : new DOMException(message, name);
  error.status = response.status;
  return error;
}

function toBase64(bytes) {
  return Buffer.from(bytes).toString('base64');
}

/** The connection to one node: base address, key, scope and the page origin relative URLs resolve against. */
class Connection {
  constructor({ node, apiKey, scope, origin, fetch: fetchImpl } = {}) {
    if (!node) throw new TypeError('installBackgroundFetch: `node` (the node\'s base URL) is required');
    this.node = String(node).replace(/\/+$/, '');
    this.apiKey = apiKey;
    this.scope = scope;
    this.origin = origin ? String(origin) : undefined;
    this.fetch = fetchImpl ?? globalThis.fetch.bind(globalThis);
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
async function serializeRequest(request) {
  if (typeof request === 'string' || request instanceof URL) return String(request);
  if (typeof Request !== 'undefined' && request instanceof Request) {
    const entry = { url: request.url, method: request.method };
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

/** The `progress` event; it also carries the looser variant's `done` and `total`. */
class BackgroundFetchProgressEvent extends Event {
  constructor(type, registration) {
    super(type);
    this.registration = registration;
    this.done = registration.downloaded;
    this.total = registration.downloadTotal;
    this.uploaded = registration.uploaded;
    this.uploadTotal = registration.uploadTotal;
  }
}

/** The terminal events (`success`, `failure`, `backgroundfetch*`): `reason` is the failure reason. */
class BackgroundFetchSettledEvent extends Event {
  constructor(type, registration) {
    super(type);
    this.registration = registration;
    this.reason = registration.failureReason;
    this.result = registration.result;
  }
}

/** One record: its request, and its response once the node has it (docs/api.md, "The Record object"). */
export class BackgroundFetchRecord {
  #connection;
  #registrationId;
  #view;
  #responseReady;

  constructor(connection, registrationId, view) {
    this.#connection = connection;
    this.#registrationId = registrationId;
    this.#view = view;
    this.index = view.index;
    this.state = view.state;
    let request;
    try {
      request = new Request(view.request.url, { method: view.request.method, headers: view.request.headers ?? {} });
    } catch {
      request = new Request(view.request.url, { method: view.request.method });
    }
    this.request = request;
  }

  /** The raw record as the node last reported it. */
  get info() {
    return this.#view;
  }

  /** A promise of the Response; its body streams from the node once the record has settled. */
  get responseReady() {
    this.#responseReady ??= this.#loadResponse();
    return this.#responseReady;
  }

  async #loadResponse() {
    const path = this.#view.response?.bodyUrl
      ?? `/v1/registrations/${encodeURIComponent(this.#registrationId)}/records/${this.index}/body`;
    // The body call waits at most ?timeout= seconds for the record to settle; a long download needs several.
    for (;;) {
      const response = await this.#connection.call('GET', `${path}${path.includes('?') ? '&' : '?'}timeout=30`);
      if (response.status === 504) {
        await response.body?.cancel();
        continue;
      }
      if (!response.ok) throw await problemOf(response);
      const status = Number(response.headers.get('X-BgFetch-Status') ?? 200);
      const recorded = this.#view.response;
      const headers = new Headers(recorded?.headers ?? {});
      if (!headers.has('content-type') && response.headers.has('content-type')) {
        headers.set('content-type', response.headers.get('content-type'));
      }
      const nullBody = status === 101 || status === 204 || status === 205 || status === 304;
      const result = new Response(nullBody ? null : response.body, {
        status: status >= 200 && status <= 599 ? status : 200,
        statusText: recorded?.statusText ?? '',
        headers,
      });
      Object.defineProperty(result, 'url', { value: recorded?.url ?? this.request.url });
      return result;
    }
  }
}

/**
 * One background fetch (docs/api.md, "The Registration object"). Its fields follow the node's event stream;
 * it dispatches `progress` and, once, a terminal event: `success` or `failure` (the looser variant's names)
 * and `backgroundfetchsuccess|fail|abort` (the service-worker names).
 */
export class BackgroundFetchRegistration extends EventTarget {
  #connection;
  #handlers = new Map();
  #settledEvents = null;
  #heard = new WeakSet();
  #abort = new AbortController();
  #settled;
  #resolveSettled;

  constructor(connection, view) {
    super();
    this.#connection = connection;
    this.#settled = new Promise((resolve) => { this.#resolveSettled = resolve; });
    this.#apply(view);
    if (view.result) {
      this.#settle(view.result === 'success' ? 'backgroundfetchsuccess'
        : view.failureReason === 'aborted' ? 'backgroundfetchabort' : 'backgroundfetchfail', false);
    } else {
      this.#follow();
    }
  }

  #apply(view) {
    this.id = view.id;
    this.uploadTotal = view.uploadTotal ?? 0;
    this.uploaded = view.uploaded ?? 0;
    this.downloadTotal = view.downloadTotal ?? 0;
    this.downloaded = view.downloaded ?? 0;
    this.result = view.result ?? '';
    this.failureReason = view.failureReason ?? '';
    this.recordsAvailable = view.recordsAvailable ?? true;
    this.title = view.title ?? '';
    this.icons = view.icons ?? [];
    this.requestCount = view.requestCount;
  }

  /** The looser variant's names. */
  get downloadedBytes() { return this.downloaded; }
  get uploadedBytes() { return this.uploaded; }
  get status() {
    if (this.result) return 'completed';
    return this.downloaded > 0 || this.uploaded > 0 ? 'in-progress' : 'pending';
  }

  /** Resolves with the registration once it has settled (the terminal event has been dispatched). */
  get settled() {
    return this.#settled;
  }

  async #follow() {
    const path = `/v1/registrations/${encodeURIComponent(this.id)}/events`;
    let failures = 0;
    while (!this.#settledEvents && !this.#abort.signal.aborted) {
      try {
        const response = await this.#connection.call('GET', path, {
          signal: this.#abort.signal,
          headers: { Accept: 'text/event-stream' },
        });
        if (response.status === 404) {
          // Released elsewhere: it cannot report an outcome any more.
          await response.body?.cancel();
          this.recordsAvailable = false;
          return;
        }
        if (!response.ok) throw await problemOf(response);
        failures = 0;
        for await (const { event, data } of readServerSentEvents(response.body)) {
          this.#onEvent(event, data);
          if (this.#settledEvents) break;
        }
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        if (++failures > 30) {
          this.dispatchEvent(Object.assign(new Event('streamerror'), { error }));
          return;
        }
      }
      if (!this.#settledEvents && !this.#abort.signal.aborted) {
        // The stream ended early (a node left, a network hiccup): reconnect; the node replays the state.
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  #onEvent(event, data) {
    let view;
    try {
      view = JSON.parse(data);
    } catch {
      return;
    }
    this.#apply(view);
    if (event === 'progress') {
      this.dispatchEvent(new BackgroundFetchProgressEvent('progress', this));
    } else if (TERMINAL_EVENTS.has(event)) {
      // The spec fires progress when result and failureReason change, which settling does.
      this.dispatchEvent(new BackgroundFetchProgressEvent('progress', this));
      this.#settle(event, true);
    }
  }

  #settle(terminal, dispatch) {
    if (this.#settledEvents) return;
    const outcome = this.result === 'success' ? 'success' : 'failure';
    this.#settledEvents = [terminal, outcome];
    if (dispatch) {
      for (const type of this.#settledEvents) this.dispatchEvent(new BackgroundFetchSettledEvent(type, this));
    }
    this.#resolveSettled(this);
  }

  dispatchEvent(event) {
    // Remember who heard the terminal events, so a late listener is replayed once and an early one never twice.
    const listeners = this.#listenersOf(event.type);
    for (const listener of listeners) this.#heard.add(listener);
    return super.dispatchEvent(event);
  }

  #registered = new Map();

  #listenersOf(type) {
    return this.#registered.get(type) ?? [];
  }

  addEventListener(type, listener, options) {
    super.addEventListener(type, listener, options);
    if (!listener) return;
    const list = this.#registered.get(type) ?? [];
    if (!list.includes(listener)) list.push(listener);
    this.#registered.set(type, list);
    if (this.#settledEvents?.includes(type) && !this.#heard.has(listener)) {
      // Attached after settling: example code that attaches handlers after an await still hears the outcome.
      this.#heard.add(listener);
      queueMicrotask(() => {
        const event = new BackgroundFetchSettledEvent(type, this);
        if (typeof listener === 'function') listener.call(this, event);
        else listener.handleEvent(event);
        const once = typeof options === 'object' && options?.once;
        if (once) this.removeEventListener(type, listener);
      });
    }
  }

  removeEventListener(type, listener, options) {
    super.removeEventListener(type, listener, options);
    const list = this.#registered.get(type);
    if (list) this.#registered.set(type, list.filter((l) => l !== listener));
  }

  #setHandler(type, handler) {
    const previous = this.#handlers.get(type);
    if (previous) this.removeEventListener(type, previous.wrapper);
    this.#handlers.delete(type);
    if (typeof handler === 'function') {
      const wrapper = (event) => handler.call(this, event);
      this.#handlers.set(type, { handler, wrapper });
      this.addEventListener(type, wrapper);
    }
  }

  get onprogress() { return this.#handlers.get('progress')?.handler ?? null; }
  set onprogress(handler) { this.#setHandler('progress', handler); }
  get onsuccess() { return this.#handlers.get('success')?.handler ?? null; }
  set onsuccess(handler) { this.#setHandler('success', handler); }
  get onerror() { return this.#handlers.get('failure')?.handler ?? null; }
  set onerror(handler) { this.#setHandler('failure', handler); }
  get onfailure() { return this.#handlers.get('failure')?.handler ?? null; }
  set onfailure(handler) { this.#setHandler('failure', handler); }

  /** Aborts the fetch: true when it was active, false when it had already settled. */
  async abort() {
    const body = await this.#connection.json('POST', `/v1/registrations/${encodeURIComponent(this.id)}/abort`);
    return body.aborted === true;
  }

  /** The first record matching `request` (a URL or a Request), or undefined. */
  async match(request, options = {}) {
    const query = this.#query(request, options);
    const body = await this.#connection.json('GET', `/v1/registrations/${encodeURIComponent(this.id)}/records/match?${query}`);
    return body.record ? new BackgroundFetchRecord(this.#connection, this.id, body.record) : undefined;
  }

  /** The records matching `request` (all of them without one), in request order. */
  async matchAll(request, options = {}) {
    const query = this.#query(request, options);
    const body = await this.#connection.json('GET', `/v1/registrations/${encodeURIComponent(this.id)}/records${query ? `?${query}` : ''}`);
    return body.records.map((record) => new BackgroundFetchRecord(this.#connection, this.id, record));
  }

  /** The looser variant's name for matchAll(). */
  getFiles() {
    return this.matchAll();
  }

  /** Extension: releases the records on the node (`DELETE`), aborting first if still active. */
  async release() {
    const response = await this.#connection.call('DELETE', `/v1/registrations/${encodeURIComponent(this.id)}`);
    if (!response.ok && response.status !== 404) throw await problemOf(response);
    this.recordsAvailable = false;
    this.close();
  }

  /** Stops following the event stream (the node keeps fetching). */
  close() {
    this.#abort.abort();
  }

  #query(request, options) {
    const params = new URLSearchParams();
    if (request !== undefined && request !== null) {
      if (typeof Request !== 'undefined' && request instanceof Request) {
        params.set('url', request.url);
        params.set('method', request.method);
      } else {
        params.set('url', this.#connection.resolve(String(request)));
      }
    }
    for (const key of ['ignoreSearch', 'ignoreMethod', 'ignoreVary']) {
      if (options?.[key] !== undefined) params.set(key, String(Boolean(options[key])));
    }
    return params.toString();
  }
}

/** Parses a `text/event-stream` body into `{ event, data }` items. */
export async function* readServerSentEvents(body) {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data = [];
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (data.length > 0) yield { event: event || 'message', data: data.join('\n') };
        event = '';
        data = [];
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
    }
  }
}

/** The manager (docs/api.md, "Endpoints at a glance"): a map from ids to background fetches of one scope. */
export class BackgroundFetchManager {
  #connection;

  constructor(options) {
    this.#connection = options instanceof Connection ? options : new Connection(options);
  }

  /** Starts a background fetch of `requests` (a URL, a Request, or an array of them) under `id`. */
  async fetch(id, requests, options = {}) {
    const list = Array.isArray(requests) ? requests : [requests];
    const body = {
      id,
      requests: await Promise.all(list.map(serializeRequest)),
      options: options ?? {},
    };
    if (this.#connection.origin) body.baseUrl = this.#connection.origin;
    const view = await this.#connection.json('POST', '/v1/registrations', { body });
    return new BackgroundFetchRegistration(this.#connection, view);
  }

  /** The registration with this id, or undefined. */
  async get(id) {
    const response = await this.#connection.call('GET', `/v1/registrations/${encodeURIComponent(id)}`);
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) throw await problemOf(response);
    return new BackgroundFetchRegistration(this.#connection, await response.json());
  }

  /** The ids of the scope's active registrations, oldest first. */
  async getIds() {
    const body = await this.#connection.json('GET', '/v1/registrations');
    return body.ids;
  }
}

/**
 * Installs `navigator.serviceWorker.ready` (resolving to `{ backgroundFetch }`) and `navigator.backgroundFetch`
 * on globalThis, so browser example code runs unchanged. Returns the manager.
 */
export function installBackgroundFetch(options) {
  const manager = new BackgroundFetchManager(options);
  const registration = { backgroundFetch: manager, scope: options?.origin ?? '/' };
  const serviceWorker = { ready: Promise.resolve(registration), controller: null };
  let navigator = globalThis.navigator;
  if (!navigator || typeof navigator !== 'object') {
    navigator = {};
    Object.defineProperty(globalThis, 'navigator', { value: navigator, configurable: true, writable: true, enumerable: false });
  }
  Object.defineProperty(navigator, 'serviceWorker', { value: serviceWorker, configurable: true, writable: true });
  Object.defineProperty(navigator, 'backgroundFetch', { value: manager, configurable: true, writable: true });
  return manager;
}
