// Type declarations for bgfetch-client: the W3C Background Fetch API over a BgFetchCluster node.

/** Where the node is and who is calling. */
export interface BackgroundFetchConnectionOptions {
  /** The node's base URL, e.g. `http://127.0.0.1:5080`. */
  node: string | URL;
  /** An API key (`Authorization: Bearer`), which decides the scope when keys are configured. */
  apiKey?: string;
  /** The scope (`X-BgFetch-Scope`) when the node runs without keys (Development). */
  scope?: string;
  /** The page's location: relative request URLs and `match()` URLs resolve against it (sent as `baseUrl`). */
  origin?: string | URL;
  /**
   * Keep records on the node after the service-worker events (`backgroundfetchsuccess|fail|abort`) were handled,
   * until `release()`. By default the client releases them once those listeners and their waitUntil() promises settle.
   */
  keepRecords?: boolean;
  /** A fetch implementation to use instead of the global one (the event stream then holds the process open). */
  fetch?: typeof globalThis.fetch;
}

/** WebIDL's QuotaExceededError (the platform's where it has one, else installed on globalThis by this client). */
export class QuotaExceededError extends DOMException {
  constructor(message?: string, options?: { quota?: number; requested?: number });
  /** The quota in bytes, or null when unknown. */
  readonly quota: number | null;
  /** The bytes requested, or null when unknown. */
  readonly requested: number | null;
}

/** `backgroundfetchabort` (and the base of the others): a service-worker event with waitUntil(). */
export class BackgroundFetchEvent extends Event {
  constructor(type: string, init?: EventInit & { registration?: BackgroundFetchRegistration });
  readonly registration: BackgroundFetchRegistration;
  readonly reason: BackgroundFetchFailureReason;
  readonly result: BackgroundFetchResult;
  /** Extends the event's lifetime (and so keeps the records) until `promise` settles; InvalidStateError once it has ended. */
  waitUntil(promise: Promise<unknown>): void;
}

/** `backgroundfetchsuccess` and `backgroundfetchfail`. */
export class BackgroundFetchUpdateUIEvent extends BackgroundFetchEvent {
  /** Changes the registration's title and/or icons on the node; once per event, while it is handled (InvalidStateError otherwise). */
  updateUI(options?: { title?: string; icons?: Array<{ src: string; sizes?: string; type?: string; label?: string }> }): Promise<void>;
}

export interface BackgroundFetchUIOptions {
  title?: string;
  icons?: Array<{ src: string; sizes?: string; type?: string; label?: string }>;
  downloadTotal?: number;
}

export interface CacheQueryOptions {
  ignoreSearch?: boolean;
  ignoreMethod?: boolean;
  ignoreVary?: boolean;
}

export type RequestInfoLike = string | URL | Request;

export type BackgroundFetchResult = '' | 'success' | 'failure';
export type BackgroundFetchFailureReason = '' | 'aborted' | 'bad-status' | 'fetch-error' | 'quota-exceeded' | 'download-total-exceeded';

/** `progress` events; `done`/`total` are the looser variant's downloaded/downloadTotal. */
export interface BackgroundFetchProgressEvent extends Event {
  readonly registration: BackgroundFetchRegistration;
  readonly done: number;
  readonly total: number;
  readonly uploaded: number;
  readonly uploadTotal: number;
}

/** The terminal events: `success`, `failure`, `backgroundfetchsuccess`, `backgroundfetchfail`, `backgroundfetchabort`. */
export interface BackgroundFetchSettledEvent extends Event {
  readonly registration: BackgroundFetchRegistration;
  /** The failure reason (`""` on success). */
  readonly reason: BackgroundFetchFailureReason;
  readonly result: BackgroundFetchResult;
}

/** One request of a background fetch and, once it has one, its response. */
export class BackgroundFetchRecord {
  private constructor();
  readonly index: number;
  /** The record's state when it was read: `pending`, `fetching`, `success`, `bad-status`, ... */
  readonly state: string;
  readonly request: Request;
  /** The response; its body streams from the node once the record has settled. */
  readonly responseReady: Promise<Response>;
  /** The record as the node reported it. */
  readonly info: unknown;
}

/** One background fetch, kept up to date from the node's event stream. */
export class BackgroundFetchRegistration extends EventTarget {
  private constructor();
  readonly id: string;
  readonly uploadTotal: number;
  readonly uploaded: number;
  readonly downloadTotal: number;
  readonly downloaded: number;
  readonly result: BackgroundFetchResult;
  readonly failureReason: BackgroundFetchFailureReason;
  readonly recordsAvailable: boolean;
  readonly title: string;
  readonly icons: Array<{ src: string; sizes?: string; type?: string; label?: string }>;
  readonly requestCount: number;
  /** The looser variant: `downloaded`. */
  readonly downloadedBytes: number;
  /** The looser variant: `uploaded`. */
  readonly uploadedBytes: number;
  /** The looser variant: `pending`, `in-progress` or `completed`. */
  readonly status: 'pending' | 'in-progress' | 'completed';
  /**
   * Resolves once the registration has settled and its terminal events were dispatched; when a service-worker event was
   * heard, after its waitUntil() promises settled and (without keepRecords) the records were released.
   */
  readonly settled: Promise<BackgroundFetchRegistration>;
  onprogress: ((this: BackgroundFetchRegistration, event: BackgroundFetchProgressEvent) => unknown) | null;
  /** The looser variant: called on `success` (also when attached after settling). */
  onsuccess: ((this: BackgroundFetchRegistration, event: BackgroundFetchSettledEvent) => unknown) | null;
  /** The looser variant: called on `failure` (also when attached after settling). */
  onerror: ((this: BackgroundFetchRegistration, event: BackgroundFetchSettledEvent) => unknown) | null;
  onfailure: ((this: BackgroundFetchRegistration, event: BackgroundFetchSettledEvent) => unknown) | null;
  onbackgroundfetchsuccess: ((this: BackgroundFetchRegistration, event: BackgroundFetchUpdateUIEvent) => unknown) | null;
  onbackgroundfetchfail: ((this: BackgroundFetchRegistration, event: BackgroundFetchUpdateUIEvent) => unknown) | null;
  onbackgroundfetchabort: ((this: BackgroundFetchRegistration, event: BackgroundFetchEvent) => unknown) | null;
  abort(): Promise<boolean>;
  match(request: RequestInfoLike, options?: CacheQueryOptions): Promise<BackgroundFetchRecord | undefined>;
  matchAll(request?: RequestInfoLike, options?: CacheQueryOptions): Promise<BackgroundFetchRecord[]>;
  /** The looser variant: all records. */
  getFiles(): Promise<BackgroundFetchRecord[]>;
  /** Extension: releases the records on the node (aborting first if still active). */
  release(): Promise<void>;
  /** Stops following the event stream. */
  close(): void;
}

/** A map from ids to the background fetches of one scope. */
export class BackgroundFetchManager {
  constructor(options: BackgroundFetchConnectionOptions);
  fetch(id: string, requests: RequestInfoLike | RequestInfoLike[], options?: BackgroundFetchUIOptions): Promise<BackgroundFetchRegistration>;
  get(id: string): Promise<BackgroundFetchRegistration | undefined>;
  getIds(): Promise<string[]>;
}

/**
 * Installs `navigator.serviceWorker.ready` and `navigator.backgroundFetch` on globalThis (and, with `origin`, a
 * `Request` whose relative URLs resolve against it); returns the manager.
 */
export function installBackgroundFetch(options: BackgroundFetchConnectionOptions): BackgroundFetchManager;

/** Parses a `text/event-stream` body. */
export function readServerSentEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<{ event: string; data: string }>;
