// bgfetch-client: the W3C Background Fetch API over a BgFetchCluster node's HTTP API (API.md).
// No runtime dependencies: Node.js 20 or newer brings fetch, Request, Response, EventTarget and DOMException.

import { problemOf, invalidState, QuotaExceededError } from './lib/errors.js';
import {
  SERVICE_WORKER_EVENTS, BackgroundFetchProgressEvent, BackgroundFetchSettledEvent, BackgroundFetchEvent,
  BackgroundFetchUpdateUIEvent, serviceWorkerEvent, handleExtendable,
} from './lib/events.js';
import { openEventStream, openEventStreamWithFetch, readServerSentEvents } from './lib/stream.js';

export { QuotaExceededError, BackgroundFetchEvent, BackgroundFetchUpdateUIEvent, readServerSentEvents };

/** The platform's Request, whatever installBackgroundFetch({ origin }) later puts on globalThis. */
const PlatformRequest = globalThis.Request;

function toBase64(bytes) {
  return Buffer.from(bytes).toString('base64');
}

/** The connection to one node: base address, key, scope and the page origin relative URLs resolve against. */
class Connection {
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
async function serializeRequest(request) {
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

/** One record: its request, and its response once the node has it (API.md, "BackgroundFetchRecord"). */
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
      request = new PlatformRequest(view.request.url, { method: view.request.method, headers: view.request.headers ?? {} });
    } catch {
      request = new PlatformRequest(view.request.url, { method: view.request.method });
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
 * One background fetch (API.md, "BackgroundFetchRegistration"). Its fields follow the node's event stream; it
 * dispatches `progress` and, once, the terminal events: `backgroundfetchsuccess|fail|abort` (the service-worker
 * events, with waitUntil() and, for success and fail, updateUI()) and `success` or `failure` (the looser variant's).
 * Once the service-worker event has been heard and its listeners' promises have settled, the records are released
 * on the node (Background Fetch: recordsAvailable turns false after the event), unless `keepRecords`. Every other
 * registration object that follows the same fetch sees recordsAvailable turn false through the event stream.
 */
export class BackgroundFetchRegistration extends EventTarget {
  #connection;
  #handlers = new Map();
  #settledEvents = null;
  #heard = new WeakSet();
  #abort = new AbortController();
  #settled;
  #resolveSettled;
  #registered = new Map();

  constructor(connection, view) {
    super();
    this.#connection = connection;
    this.#settled = new Promise((resolve) => { this.#resolveSettled = resolve; });
    this.#apply(view);
    if (view.result) {
      this.#settle(view.result === 'success' ? 'backgroundfetchsuccess'
        : view.failureReason === 'aborted' ? 'backgroundfetchabort' : 'backgroundfetchfail', false);
    }
    this.#follow();
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

  #path(suffix = '') {
    return `/v1/registrations/${encodeURIComponent(this.id)}${suffix}`;
  }

  /** The looser variant's names. */
  get downloadedBytes() { return this.downloaded; }
  get uploadedBytes() { return this.uploaded; }
  get status() {
    if (this.result) return 'completed';
    return this.downloaded > 0 || this.uploaded > 0 ? 'in-progress' : 'pending';
  }

  /**
   * Resolves with the registration once it has settled: the terminal events have been dispatched and, when a
   * service-worker event was heard, its listeners' promises have settled and the records were released.
   */
  get settled() {
    return this.#settled;
  }

  /**
   * Follows `/events?untilReleased=true`: progress and the terminal event, then (the connection no longer holding the
   * process open) `updateui` and `recordsreleased`. Before settlement a broken stream is reconnected; after it, not.
   */
  async #follow() {
    let failures = 0;
    while (this.recordsAvailable && !this.#abort.signal.aborted) {
      const settledBefore = this.#settledEvents !== null;
      let stream;
      try {
        stream = await this.#connection.stream(this.#path('/events?untilReleased=true'), this.#abort.signal);
        if (stream.status === 404) {
          // Released elsewhere: it cannot report an outcome any more.
          stream.close();
          this.recordsAvailable = false;
          return;
        }
        if (stream.status !== 200) throw await problemOf(await stream.response());
        failures = 0;
        if (settledBefore) stream.unref();
        for await (const { event, data } of readServerSentEvents(stream.body)) {
          this.#onEvent(event, data, stream);
          if (!this.recordsAvailable) break;
        }
      } catch (error) {
        if (this.#abort.signal.aborted) return;
        if (!this.#settledEvents && ++failures > 30) {
          this.dispatchEvent(Object.assign(new Event('streamerror'), { error }));
          return;
        }
      } finally {
        stream?.close();
      }
      if (this.#settledEvents || this.#abort.signal.aborted) return;
      // The stream ended early (a node left, a network hiccup): reconnect; the node replays the state.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  #onEvent(event, data, stream) {
    let view;
    try {
      view = JSON.parse(data);
    } catch {
      return;
    }
    if (event === 'progress') {
      this.#apply(view);
      this.dispatchEvent(new BackgroundFetchProgressEvent('progress', this));
    } else if (SERVICE_WORKER_EVENTS.has(event)) {
      this.#apply(view);
      // From here the stream only waits for notices: it must not keep the process alive.
      stream.unref();
      if (!this.#settledEvents) {
        // The spec fires progress when result and failureReason change, which settling does.
        this.dispatchEvent(new BackgroundFetchProgressEvent('progress', this));
      }
      this.#settle(event, true);
    } else if (event === 'updateui') {
      this.title = view.title ?? this.title;
      this.icons = view.icons ?? this.icons;
    } else if (event === 'recordsreleased') {
      this.recordsAvailable = false;
    }
  }

  #settle(terminal, dispatch) {
    if (this.#settledEvents) return;
    const outcome = this.result === 'success' ? 'success' : 'failure';
    this.#settledEvents = [terminal, outcome];
    if (!dispatch) {
      this.#resolveSettled(this);
      return;
    }
    const heard = this.#listenersOf(terminal).length > 0;
    const handled = this.#handleServiceWorkerEvent(terminal, (event) => this.dispatchEvent(event));
    this.dispatchEvent(new BackgroundFetchSettledEvent(outcome, this));
    handled.then(() => (heard ? this.#releaseAfterEvent() : undefined)).finally(() => this.#resolveSettled(this));
  }

  /** Dispatches a service-worker event; resolves once its listeners' waitUntil() and updateUI() promises settled. */
  #handleServiceWorkerEvent(type, dispatch) {
    const updateUI = async (body) => {
      const view = await this.#connection.json('POST', this.#path('/ui'), { body });
      this.title = view.title ?? this.title;
      this.icons = view.icons ?? this.icons;
    };
    return handleExtendable(serviceWorkerEvent(type, this), dispatch, updateUI);
  }

  /** Background Fetch: once the service-worker event has been handled, the records are no longer available. */
  async #releaseAfterEvent() {
    if (this.#connection.keepRecords || !this.recordsAvailable) return;
    try {
      await this.release();
    } catch (error) {
      this.dispatchEvent(Object.assign(new Event('releaseerror'), { error }));
    }
  }

  dispatchEvent(event) {
    // Remember who heard the terminal events, so a late listener is replayed once and an early one never twice.
    const listeners = this.#listenersOf(event.type);
    for (const listener of listeners) this.#heard.add(listener);
    return super.dispatchEvent(event);
  }

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
      queueMicrotask(() => this.#replay(type, listener, options));
    }
  }

  #replay(type, listener, options) {
    const call = (event) => {
      if (typeof listener === 'function') listener.call(this, event);
      else listener.handleEvent(event);
      const once = typeof options === 'object' && options?.once;
      if (once) this.removeEventListener(type, listener);
    };
    if (SERVICE_WORKER_EVENTS.has(type)) {
      this.#handleServiceWorkerEvent(type, call).then(() => this.#releaseAfterEvent());
    } else {
      call(new BackgroundFetchSettledEvent(type, this));
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
  get onbackgroundfetchsuccess() { return this.#handlers.get('backgroundfetchsuccess')?.handler ?? null; }
  set onbackgroundfetchsuccess(handler) { this.#setHandler('backgroundfetchsuccess', handler); }
  get onbackgroundfetchfail() { return this.#handlers.get('backgroundfetchfail')?.handler ?? null; }
  set onbackgroundfetchfail(handler) { this.#setHandler('backgroundfetchfail', handler); }
  get onbackgroundfetchabort() { return this.#handlers.get('backgroundfetchabort')?.handler ?? null; }
  set onbackgroundfetchabort(handler) { this.#setHandler('backgroundfetchabort', handler); }

  /** Aborts the fetch: true when it was active, false when it had already settled. */
  async abort() {
    const body = await this.#connection.json('POST', this.#path('/abort'));
    return body.aborted === true;
  }

  /** The first record matching `request` (a URL or a Request), or undefined. InvalidStateError once released. */
  async match(request, options = {}) {
    const query = this.#query(request, options);
    const body = await this.#records(`/records/match?${query}`);
    return body.record ? new BackgroundFetchRecord(this.#connection, this.id, body.record) : undefined;
  }

  /** The records matching `request` (all of them without one), in request order. InvalidStateError once released. */
  async matchAll(request, options = {}) {
    const query = this.#query(request, options);
    const body = await this.#records(`/records${query ? `?${query}` : ''}`);
    return body.records.map((record) => new BackgroundFetchRecord(this.#connection, this.id, record));
  }

  async #records(suffix) {
    if (!this.recordsAvailable) throw invalidState(`The records of '${this.id}' are no longer available.`);
    try {
      return await this.#connection.json('GET', this.#path(suffix));
    } catch (error) {
      // Released by another client: the node has forgotten the registration.
      if (error.status !== 404) throw error;
      this.recordsAvailable = false;
      throw invalidState(`The records of '${this.id}' are no longer available.`);
    }
  }

  /** The looser variant's name for matchAll(). */
  getFiles() {
    return this.matchAll();
  }

  /** Extension: releases the records on the node (`DELETE`), aborting first if still active. */
  async release() {
    const response = await this.#connection.call('DELETE', this.#path());
    if (!response.ok && response.status !== 404) throw await problemOf(response);
    await response.body?.cancel();
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
      if (request instanceof PlatformRequest) {
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

/** The manager (API.md, "BackgroundFetchManager"): a map from ids to background fetches of one scope. */
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
 * A Request whose relative URLs resolve against `origin`, as a page's base URL makes them resolve; absolute URLs and
 * everything else are the platform's own.
 */
function requestResolvingAgainst(origin) {
  const Request = class Request extends PlatformRequest {
    constructor(input, init) {
      let resolved = input;
      if (typeof input === 'string') {
        try {
          resolved = new URL(input, origin).href;
        } catch {
          // Not a URL even against the origin: the platform's constructor raises its TypeError.
        }
      }
      super(resolved, init);
    }
  };
  return Request;
}

/**
 * Installs `navigator.serviceWorker.ready` (resolving to `{ backgroundFetch }`) and `navigator.backgroundFetch`
 * on globalThis, so browser example code runs unchanged. With `origin`, `new Request('/relative')` resolves
 * against it too. With `keepRecords: true` records stay on the node after the service-worker events until
 * `release()`. Returns the manager.
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
  if (options?.origin) {
    Object.defineProperty(globalThis, 'Request', {
      value: requestResolvingAgainst(String(options.origin)), configurable: true, writable: true, enumerable: false,
    });
  }
  return manager;
}
