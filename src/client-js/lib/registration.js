// BackgroundFetchRegistration (docs/api.md, "BackgroundFetchRegistration" and "Events").

import { problemOf, invalidState } from './errors.js';
import {
  SERVICE_WORKER_EVENTS, BackgroundFetchProgressEvent, BackgroundFetchSettledEvent, serviceWorkerEvent, handleExtendable,
} from './events.js';
import { readServerSentEvents } from './stream.js';
import { PlatformRequest } from './connection.js';
import { BackgroundFetchRecord } from './record.js';

/**
 * One background fetch (docs/api.md, "BackgroundFetchRegistration"). Its fields follow the node's event stream; it
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
