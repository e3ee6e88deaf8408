// The events a BackgroundFetchRegistration dispatches: progress, the looser variant's success/failure, and the
// service-worker events (Background Fetch, "BackgroundFetchEvent" and "BackgroundFetchUpdateUIEvent") with
// waitUntil() and updateUI().

import { invalidState } from './errors.js';

/** The service-worker events: they carry waitUntil(), and the records are released once they have been handled. */
export const SERVICE_WORKER_EVENTS = new Set(['backgroundfetchsuccess', 'backgroundfetchfail', 'backgroundfetchabort']);

/** The `progress` event; it also carries the looser variant's `done` and `total`. */
export class BackgroundFetchProgressEvent extends Event {
  constructor(type, registration) {
    super(type);
    this.registration = registration;
    this.done = registration.downloaded;
    this.total = registration.downloadTotal;
    this.uploaded = registration.uploaded;
    this.uploadTotal = registration.uploadTotal;
  }
}

/** The looser variant's terminal events (`success`, `failure`): `reason` is the failure reason. */
export class BackgroundFetchSettledEvent extends Event {
  constructor(type, registration) {
    super(type);
    this.registration = registration;
    this.reason = registration.failureReason;
    this.result = registration.result;
  }
}

/**
 * ExtendableEvent's lifetime: active while it is dispatched and while promises given to waitUntil() are pending
 * (Service Workers, "extend lifetime promises").
 */
class Lifetime {
  dispatching = false;
  pending = 0;
  promises = [];

  get active() {
    return this.dispatching || this.pending > 0;
  }

  add(promise) {
    this.pending++;
    this.promises.push(Promise.resolve(promise).then(() => {}, () => {}).finally(() => { this.pending--; }));
  }

  /** Resolves once every promise given so far, and any given while those were pending, has settled. */
  async settled() {
    for (let seen = -1; seen !== this.promises.length;) {
      seen = this.promises.length;
      await Promise.all(this.promises);
    }
  }
}

/** What the client keeps of an event it dispatches itself: its lifetime and how updateUI() reaches the node. */
const internals = new WeakMap();

/** `backgroundfetchabort` (and the base of the others): `registration`, and waitUntil(). */
export class BackgroundFetchEvent extends Event {
  constructor(type, init = {}) {
    super(type, init);
    this.registration = init.registration;
    // The looser variant's fields, as on its success/failure events.
    this.reason = init.registration?.failureReason ?? '';
    this.result = init.registration?.result ?? '';
  }

  /** Extends the event's lifetime until `promise` settles; only while the event is active (InvalidStateError). */
  waitUntil(promise) {
    const inner = internals.get(this);
    if (!inner?.lifetime.active) {
      throw invalidState('waitUntil() may only be called while the event is being handled or extended.');
    }
    inner.lifetime.add(promise);
  }
}

/** `backgroundfetchsuccess` and `backgroundfetchfail`: updateUI({ title, icons }), once, while the event is active. */
export class BackgroundFetchUpdateUIEvent extends BackgroundFetchEvent {
  #updated = false;

  updateUI(options = {}) {
    const inner = internals.get(this);
    if (!inner || this.#updated || !inner.lifetime.active) {
      return Promise.reject(invalidState(this.#updated
        ? 'updateUI() may be called only once per event.'
        : 'updateUI() may only be called while the event is being handled.'));
    }
    if (options !== undefined && options !== null && typeof options !== 'object') {
      return Promise.reject(new TypeError('updateUI(options): options must be an object with title and/or icons.'));
    }
    this.#updated = true;
    const body = {};
    if (options?.title !== undefined) body.title = options.title;
    if (options?.icons !== undefined) body.icons = options.icons;
    const promise = inner.updateUI(body);
    inner.lifetime.add(promise);
    return promise;
  }
}

/** A service-worker event of `type` for `registration`. */
export function serviceWorkerEvent(type, registration) {
  return type === 'backgroundfetchabort'
    ? new BackgroundFetchEvent(type, { registration })
    : new BackgroundFetchUpdateUIEvent(type, { registration });
}

/**
 * Runs `dispatch` (which hands `event` to its listeners synchronously) as the event's dispatch, then resolves once
 * the promises given to waitUntil() and updateUI() have settled. `updateUI(body)` sends the new title and icons.
 */
export async function handleExtendable(event, dispatch, updateUI) {
  const lifetime = new Lifetime();
  internals.set(event, { lifetime, updateUI });
  lifetime.dispatching = true;
  try {
    dispatch(event);
  } finally {
    lifetime.dispatching = false;
  }
  await lifetime.settled();
}
