// bgfetch-client: the W3C Background Fetch API over a BgFetchCluster node's HTTP API (docs/api.md).
// No runtime dependencies: Node.js 20 or newer brings fetch, Request, Response, EventTarget and DOMException.

import { QuotaExceededError, problemOf } from './lib/errors.js';
import { BackgroundFetchEvent, BackgroundFetchUpdateUIEvent } from './lib/events.js';
import { readServerSentEvents } from './lib/stream.js';
import { Connection, PlatformRequest, serializeRequest } from './lib/connection.js';
import { BackgroundFetchRecord } from './lib/record.js';
import { BackgroundFetchRegistration } from './lib/registration.js';

export {
  QuotaExceededError, BackgroundFetchEvent, BackgroundFetchUpdateUIEvent, readServerSentEvents, BackgroundFetchRecord,
  BackgroundFetchRegistration,
};

/** The manager (docs/api.md, "BackgroundFetchManager"): a map from ids to background fetches of one scope. */
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
