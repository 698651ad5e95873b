/**
 * The gateway's default middleware the bench turns on, and what is still to come. The issue
 * asks for the gateway "with its full default middleware on": request ids, the info-level
 * access log, the host check, CORS, API-key auth, rate limits and the body limit all run on
 * every bench request (systems/gateway.ts writes the config). When a later issue lands a new
 * layer, add it here and its config fragment in `gatewayConfig`.
 */
export interface Feature {
  readonly name: string;
  readonly enabled: boolean;
  readonly how: string;
  /**
   * Whether it is also on in the second gateway, `gateway (minimum)` (gateway.ts, variant
   * "minimum"): auth, rate limit, access log, response cache and history are off there; metrics
   * and SLA tracking have no switch; the rest stay at their defaults.
   */
  readonly inMinimum: boolean;
}

export const FEATURES: readonly Feature[] = [
  {
    name: "request ids",
    inMinimum: true,
    enabled: true,
    how: "on by default: X-Request-ID on every answer and log line",
  },
  {
    name: "access log at info",
    inMinimum: false,
    enabled: true,
    how: "`logging.level: info`, one JSON line per request; stdout redirected to a file",
  },
  {
    name: "host check and CORS",
    inMinimum: true,
    enabled: true,
    how: "on by default for a loopback bind (the bench sends no Origin, as API clients do not)",
  },
  {
    name: "API key auth",
    inMinimum: false,
    enabled: true,
    how: "one key in `auth.apiKeys`; every request sends `Authorization: Bearer <key>` (load/request-shape.ts)",
  },
  {
    name: "rate limit",
    inMinimum: false,
    enabled: true,
    how: "request and token buckets per key (in memory) set far above the bench's rate: checked on every request, never tripped",
  },
  { name: "body limit", inMinimum: true, enabled: true, how: "default `server.bodyLimit` (10 MiB)" },
  {
    name: "response cache",
    inMinimum: false,
    enabled: true,
    how: "on by default (in memory; default size and ttl). Scenarios 1–4, 6 and the profile send `Cache-Control: no-cache` with their repeated `temperature: 0` request: each still reaches the backend and pays the cache's miss-path work (key, recording, store), none is answered from the cache. Scenario 5 measures the hits",
  },
  {
    name: "metrics",
    inMinimum: true,
    enabled: true,
    how: "always on (no switch): every finished request runs `GatewayMetrics.request` (prom-client: the requests counter, the duration histogram, and for a request that reached a model the ttft, queue-wait and upstream histograms, three token counters and the speed histogram; a rejection counter for refused ones); the gauges and Node's process metrics are read only when /metrics is scraped, which no scenario does (prom-client's default metrics also keep an event-loop-delay monitor and a GC observer running: per 10 ms and per GC, not per request). Scenario 8 measures the per-request cost and one render",
  },
  {
    name: "SLA tracking",
    inMinimum: true,
    enabled: true,
    how: "always on: `SlaTracker.record` adds each request that names a model to its model's current bucket of a 60-bucket sliding window (default objectives: availability 0.99 over 1 h, no ttft or latency objective)",
  },
  {
    name: "conversation-affine routing",
    inMinimum: true,
    enabled: true,
    how: "on by default (`affinity: true`), but idle here: the bench's model has one instance and `maxConcurrent: 4096`, not llama-server's slot count, so there is no instance to choose and no slot to pin, and no conversation keys are computed (as for any such model). With several instances, or the default maxConcurrent of 4 slots, each chat request's keys are hashed (a chain of SHA-1 digests) and remembered: about 4% of the minimum gateway's busy time in the issue-15 profile. Scenarios 9–11 measure what it buys on the real llama-server",
  },
  {
    name: "request history (memory)",
    inMinimum: false,
    enabled: true,
    how: "on by default (`history.size: 1000`, no `history.file`): `RequestHistory.add` keeps every non-operator request's record in a fixed ring for GET /admin/requests; no file is appended",
  },
];
