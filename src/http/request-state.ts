import type { IncomingMessage, ServerResponse } from "node:http";
import type { ClientWatch, ClientWatcher } from "../proxy/client-watch.js";
import type { Access } from "../security/access.js";
import { emptyFacts, type RequestContext, type RequestFacts, type RequestWork } from "./context.js";

/** What a request learned before its route ran: computed by handle-request.ts. */
export interface RequestStart {
  readonly requestId: string;
  readonly traceparent: string | null;
  readonly path: string;
  readonly clientAddress: string;
  readonly access: Access;
}

/**
 * One request's context as one object with its methods on the prototype (issue 15: a context
 * literal with closures, an AbortController and its signal per request were a measurable part
 * of the request path's allocation, and the signal's listeners kept it alive past scavenges).
 *
 * The AbortSignal is made only when something asks for `signal` (a request that waits in the
 * scheduler's line, a cache flight, a log follower); forwarding to llama-server watches the
 * client through `watchClient` instead. A signal made after the client left is born aborted,
 * with the same reason object every part of the request compares against.
 */
export class RequestState implements RequestContext, ClientWatch {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly traceparent: string | null;
  readonly path: string;
  readonly startedAt: number;
  readonly cut: AbortSignal;
  readonly facts: RequestFacts = emptyFacts();
  readonly clientAddress: string;
  access: Access;
  chargeWork?: (work: RequestWork) => Promise<void>;
  #abort: AbortController | null = null;
  /** Why the request ended early (the client left); null while it has not. */
  #leftWith: Error | null = null;
  #watcher: ClientWatcher | null = null;
  #doneListeners: Array<() => void> | null = null;

  constructor(req: IncomingMessage, res: ServerResponse, cut: AbortSignal, start: RequestStart) {
    this.req = req;
    this.res = res;
    this.cut = cut;
    this.startedAt = performance.now();
    this.requestId = start.requestId;
    this.traceparent = start.traceparent;
    this.path = start.path;
    this.clientAddress = start.clientAddress;
    this.access = start.access;
  }

  get signal(): AbortSignal {
    if (this.#abort === null) {
      this.#abort = new AbortController();
      if (this.#leftWith !== null) this.#abort.abort(this.#leftWith);
    }
    return this.#abort.signal;
  }

  /** The reason the request ended early, the object `signal.reason` is; null while it has not. */
  get leftWith(): Error | null {
    return this.#leftWith;
  }

  /** One watcher at a time (the forward under way); null stops watching. */
  watchClient(watcher: ClientWatcher | null): void {
    this.#watcher = watcher;
  }

  onDone(listener: () => void): void {
    this.#doneListeners ??= [];
    this.#doneListeners.push(listener);
  }

  /** The response closed before it finished: the client left. Aborts the signal, tells the watcher. */
  clientLeft(): void {
    if (this.#leftWith !== null) return;
    this.#leftWith = new Error("client closed the connection");
    this.#abort?.abort(this.#leftWith);
    const watcher = this.#watcher;
    this.#watcher = null;
    watcher?.clientLeft(this.#leftWith);
  }

  /** Runs the onDone listeners (once the response closed and the route's work settled). */
  runDoneListeners(): void {
    const listeners = this.#doneListeners;
    if (listeners !== null) for (const listener of listeners) listener();
  }
}
