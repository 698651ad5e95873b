import type { Usage } from "../proxy/usage.js";

/** What the response cache did for a request (X-Cache); null on routes without a cache. */
export type CacheResult = "hit" | "miss" | "bypass";

/**
 * One finished request, as the HTTP layer reports it to whoever listens (metrics, SLA
 * tracking, request history): emitted once per request, when the response closed and the
 * route's work settled. Only bounded values go in label-like fields: `route` is the matched
 * route's pattern (never the raw path), `model` the resolved id (never the client's text).
 */
export interface RequestRecord {
  readonly requestId: string;
  /** ms since epoch when the request arrived. */
  readonly at: number;
  readonly method: string;
  /** The route pattern (`/v1/chat/completions`, `/admin/models/{id}/{action}`); null when none matched. */
  readonly route: string | null;
  /** 499 when the client left before its answer was complete. */
  readonly status: number;
  readonly durationMs: number;
  /** Time to the backend's first byte (for a stream, its first token). */
  readonly ttfbMs: number | null;
  /** Time spent waiting for an instance (queue, model load). */
  readonly queueMs: number | null;
  /** Time from sending to llama-server to the end of its answer. */
  readonly upstreamMs: number | null;
  /** The resolved model id. */
  readonly model: string | null;
  readonly instance: string | null;
  /** The API key's name; null without one. */
  readonly keyName: string | null;
  readonly usage: Usage | null;
  /** llama-server's own generation speed (timings.predicted_per_second), when it reported one. */
  readonly tokensPerSecond: number | null;
  readonly cache: CacheResult | null;
  /** X-Gateway-Route's value (instance, slot, reason), when the model routes by conversation. */
  readonly routing: string | null;
  readonly errorCode: string | null;
  /** Whether the request was streamed. */
  readonly stream: boolean;
  /**
   * The client's own text, for the request history and the dashboard only (shown as text,
   * never a label): the model name it asked for and its User-Agent, cut to 200 characters.
   */
  readonly modelAsked: string | null;
  readonly userAgent: string | null;
}
