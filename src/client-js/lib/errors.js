// The exceptions the browser API raises, from the node's `application/problem+json` answers (docs/api.md, "Conventions").

/**
 * WebIDL's QuotaExceededError: a DOMException named 'QuotaExceededError' that carries `quota` and `requested`
 * (null when unknown). The platform's own class is used where it has one; otherwise this one is installed on globalThis.
 */
class QuotaExceededErrorPolyfill extends DOMException {
  #quota;
  #requested;

  constructor(message = '', options = {}) {
    super(message, 'QuotaExceededError');
    const quota = options?.quota;
    const requested = options?.requested;
    // WebIDL: quota and requested are non-negative, and requested is never below quota.
    for (const [name, value] of [['quota', quota], ['requested', requested]]) {
      if (value !== undefined && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
        throw new RangeError(`QuotaExceededError: ${name} must be a non-negative number`);
      }
    }
    if (quota !== undefined && requested !== undefined && requested < quota) {
      throw new RangeError('QuotaExceededError: requested must not be less than quota');
    }
    this.#quota = quota ?? null;
    this.#requested = requested ?? null;
  }

  get quota() { return this.#quota; }

  get requested() { return this.#requested; }
}
Object.defineProperty(QuotaExceededErrorPolyfill, 'name', { value: 'QuotaExceededError' });

if (typeof globalThis.QuotaExceededError !== 'function') {
  Object.defineProperty(globalThis, 'QuotaExceededError', {
    value: QuotaExceededErrorPolyfill, writable: true, configurable: true, enumerable: false,
  });
}

/** The QuotaExceededError constructor this client throws: the platform's, or the one it installed. */
export const QuotaExceededError = globalThis.QuotaExceededError;

/** An InvalidStateError DOMException. */
export function invalidState(message) {
  return new DOMException(message, 'InvalidStateError');
}

/** Turns an `application/problem+json` answer into the exception the browser API would raise. */
export async function problemOf(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    // not a problem body: keep the status line
  }
  const message = body.detail || body.title || `${response.status} ${response.statusText}`;
  const name = body.name || (response.status === 404 ? 'NotFoundError' : 'TypeError');
  let error;
  if (name === 'TypeError') {
    error = new TypeError(message);
  } else if (name === 'QuotaExceededError') {
    const options = {};
    if (typeof body.quota === 'number') options.quota = body.quota;
    if (typeof body.requested === 'number') options.requested = body.requested;
    error = new QuotaExceededError(message, options);
  } else {
    error = new DOMException(message, name);
  }
  error.status = response.status;
  return error;
}
