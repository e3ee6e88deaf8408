// The registration's event stream (docs/api.md, "Events") over node:http, so that a stream that only waits for the
// release notice after settlement can stop holding the process open (unref), as a browser page would not.

import http from 'node:http';
import https from 'node:https';

/**
 * Opens `url` as `text/event-stream`: `{ status, body, unref(), close(), response() }`, where `body` is an async iterable of
 * bytes and `response()` reads a non-200 answer as a fetch Response (for its problem document).
 */
export function openEventStream(url, headers, signal) {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const request = client.request(target, { method: 'GET', headers: { ...headers, Accept: 'text/event-stream' }, signal }, (answer) => {
      resolve({
        status: answer.statusCode,
        body: answer,
        unref: () => answer.socket?.unref(),
        close: () => answer.destroy(),
        async response() {
          const chunks = [];
          for await (const chunk of answer) chunks.push(chunk);
          return new Response(Buffer.concat(chunks), { status: answer.statusCode, headers: { 'content-type': answer.headers['content-type'] ?? 'text/plain' } });
        },
      });
    });
    request.on('error', reject);
    request.end();
  });
}

/** The same shape over a fetch implementation (one given to the client): it cannot unref its connection. */
export async function openEventStreamWithFetch(fetchImpl, url, headers, signal) {
  const answer = await fetchImpl(url, { method: 'GET', headers: { ...headers, Accept: 'text/event-stream' }, signal });
  return {
    status: answer.status,
    body: answer.body,
    unref: () => {},
    close: () => { answer.body?.cancel().catch(() => {}); },
    response: async () => answer,
  };
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
