import type { RequestRecord } from "../http/request-record.js";

/** Filters for {@link RequestHistory.query}; `undefined` means "any", so parsed query strings pass straight in. */
export interface HistoryQuery {
  /** The resolved model id, exactly. */
  readonly model?: string | undefined;
  /** A status class (`2xx`, `4xx`, `5xx`, ...) or an exact code (`404`, `499`); see {@link statusMatcher}. */
  readonly status?: string | undefined;
  /** How many records at most; 100 by default, never more than the capacity. */
  readonly limit?: number | undefined;
  /** A requestId: return only records older than it (the next page). */
  readonly before?: string | undefined;
}

export type HistoryListener = (record: RequestRecord) => void;

export const DEFAULT_QUERY_LIMIT = 100;

const STATUS_CLASS = /^[1-5]xx$/;
const STATUS_CODE = /^[1-5]\d\d$/;

/**
 * The status test a filter stands for, or null when the filter is not one (the admin route
 * answers 400 then). A class is plain arithmetic: `4xx` includes 499 (client left), and `499`
 * alone picks only those.
 */
export function statusMatcher(filter: string): ((status: number) => boolean) | null {
  if (STATUS_CLASS.test(filter)) {
    const low = Number(filter[0]) * 100;
    return (status) => status >= low && status < low + 100;
  }
  if (STATUS_CODE.test(filter)) {
    const code = Number(filter);
    return (status) => status === code;
  }
  return null;
}

/**
 * The most recent finished requests, for the admin API and the dashboard. A fixed ring: `add`
 * overwrites the oldest slot in O(1) and memory never grows past the capacity, however busy
 * the gateway is. Queries scan newest first; at a few thousand records that is cheaper than
 * keeping indexes in step with evictions.
 */
export class RequestHistory {
  readonly #slots: Array<RequestRecord | undefined>;
  readonly #listeners = new Set<HistoryListener>();
  readonly #onListenerError: (error: unknown) => void;
  /** The slot the next record goes into. */
  #next = 0;
  #size = 0;

  /** `onListenerError` hears what a listener threw (to log it); `add` carries on either way. */
  constructor(capacity: number, options: { onListenerError?: (error: unknown) => void } = {}) {
    if (!Number.isFinite(capacity) || capacity < 1) throw new RangeError(`history capacity ${capacity}`);
    this.#slots = new Array<RequestRecord | undefined>(Math.floor(capacity));
    this.#onListenerError = options.onListenerError ?? (() => {});
  }

  get capacity(): number {
    return this.#slots.length;
  }

  /** How many records are kept now (at most the capacity). */
  get size(): number {
    return this.#size;
  }

  /** Keeps `record`, dropping the oldest when full, and hands it to every listener. */
  add(record: RequestRecord): void {
    this.#slots[this.#next] = record;
    this.#next = (this.#next + 1) % this.#slots.length;
    if (this.#size < this.#slots.length) this.#size += 1;
    // A copy, so a listener that unsubscribes (or subscribes another) mid-loop changes nothing here.
    for (const listener of [...this.#listeners]) {
      try {
        listener(record);
      } catch (error) {
        // A broken live view must never lose the record for everyone else.
        try {
          this.#onListenerError(error);
        } catch {}
      }
    }
  }

  /**
   * Matching records, newest first. With `before`, the scan starts just past that request
   * (its newest occurrence, as client-chosen ids may repeat); when it has aged out of the ring
   * every kept record is newer than it, so the page is empty.
   * @throws RangeError when `status` is not a class or a code (validate with {@link statusMatcher}).
   */
  query(filter: HistoryQuery = {}): RequestRecord[] {
    const status = filter.status === undefined ? null : statusMatcher(filter.status);
    if (filter.status !== undefined && status === null) {
      throw new RangeError(`status filter ${JSON.stringify(filter.status)}`);
    }
    const limit = this.#limit(filter.limit);
    const found: RequestRecord[] = [];
    let started = filter.before === undefined;
    for (let age = 0; age < this.#size && found.length < limit; age += 1) {
      const record = this.#at(age);
      if (!started) {
        started = record.requestId === filter.before;
        continue;
      }
      if (filter.model !== undefined && record.model !== filter.model) continue;
      if (status !== null && !status(record.status)) continue;
      found.push(record);
    }
    return found;
  }

  /** Calls `listener` with each record added from now on; the returned function stops it. */
  subscribe(listener: HistoryListener): () => void {
    // Wrapped so the same function subscribed twice gets two independent subscriptions.
    const entry: HistoryListener = (record) => listener(record);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  /** The record `age` steps back from the newest (0 = newest); only for age < size. */
  #at(age: number): RequestRecord {
    const length = this.#slots.length;
    return this.#slots[(this.#next - 1 - age + length * 2) % length] as RequestRecord;
  }

  #limit(requested: number | undefined): number {
    if (requested === undefined || !Number.isFinite(requested))
      return Math.min(DEFAULT_QUERY_LIMIT, this.capacity);
    return Math.max(0, Math.min(Math.floor(requested), this.capacity));
  }
}
