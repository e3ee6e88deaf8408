// BackgroundFetchRecord (docs/api.md, "BackgroundFetchRecord").

import { problemOf } from './errors.js';
import { PlatformRequest } from './connection.js';

/** One record: its request, and its response once the node has it (docs/api.md, "BackgroundFetchRecord"). */
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
