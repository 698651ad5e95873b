import type { Endpoint } from "./backend.js";

/**
 * Why a request went where it went (X-Gateway-Route): `affinity` — the instance (and slot) that
 * served its conversation before; `least-busy` — no earlier turn known; `spilled` — its
 * conversation's instance stayed busy longer than recomputing the prompt elsewhere would take;
 * `restored` — its conversation's KV cache, saved when the model was unloaded, was read back
 * into the slot first; `recomputed` — one was saved, but reading it was predicted to be slower
 * than recomputing the prompt (or failed).
 */
export type RouteReason = "affinity" | "least-busy" | "spilled" | "restored" | "recomputed";

/** The decision behind a lease, when the model routes by conversation (affinity on). */
export interface RouteDecision {
  /** The instance's position in the model's instances (0-based, as in /admin/status). */
  readonly instance: number;
  /** The llama-server slot the request is pinned to (`id_slot`); null when not pinned. */
  readonly slot: number | null;
  readonly reason: RouteReason;
}

/** One dispatched request's hold on an instance slot; release exactly once when the response ends. */
export interface Lease {
  readonly modelId: string;
  readonly instance: string;
  readonly endpoint: Endpoint;
  /** Where and why, when the model routes by conversation; null otherwise (affinity off). */
  readonly route: RouteDecision | null;
  /** llama-server reported its prompt speed (timings.prompt_per_second, tokens/s) for this request. */
  notePrefill(tokensPerSecond: number): void;
  /** A remote upstream's model name to ask for (the body's `model` is rewritten); null for local children. */
  readonly upstreamModel: string | null;
  /** Whether it is a remote upstream (a 5xx before any byte may move the request to another instance). */
  readonly remote: boolean;
  /** How the request ended on it: false on a connection failure or a 5xx (passive health check). */
  observe(ok: boolean): void;
  release(): void;
  /**
   * The connection to this instance failed before any answer (refused, reset): keep requests
   * away from it until it is ready again (its supervisor restarts it) or a few seconds passed.
   */
  suspect(): void;
}
