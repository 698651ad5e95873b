import type { GatewayConfig } from "../../config/types.js";
import type { KeyTable } from "../../security/key-table.js";
import type { Limiter } from "../../security/limiter.js";
import { authenticate } from "./authenticate.js";
import { bodyLimit } from "./body-limit.js";
import { cors } from "./cors.js";
import { hostCheck } from "./host-check.js";
import { rateLimit } from "./rate-limit.js";
import type { Step } from "./step.js";

export interface PipelineDeps {
  readonly config: Pick<GatewayConfig, "server" | "cors" | "auth" | "rateLimit" | "dashboard">;
  readonly keys: KeyTable;
  readonly limiter: Limiter;
}

/**
 * The steps between a request's arrival and its route, in this order:
 *
 * 0. (handle-request.ts) request id, access-log hook, slow-reader watchdog: first, so that every
 *    log line about the request, a refusal by any later step included, carries its id.
 * 1. host check: a DNS-rebinding page is refused before anything else looks at it.
 * 2. CORS: preflights carry no credentials, so they are answered before auth; a foreign origin
 *    is refused before it costs a key lookup.
 * 3. auth: decides who is asking, and /admin/* needs an admin key.
 * 4. rate limit: after auth, because the key picks the bucket (no key: the client address).
 * 5. body limit: a declared oversize body is refused before a byte of it is read (the route
 *    reads the body, and enforces the limit on chunked bodies while reading).
 */
export function requestPipeline(deps: PipelineDeps): Step[] {
  const { server, rateLimit: defaults } = deps.config;
  const steps: Array<Step | null> = [
    hostCheck(server),
    cors(deps.config.cors),
    authenticate({
      keys: deps.keys,
      defaults,
      publicMetrics: deps.config.auth.publicMetrics,
      publicDashboard: deps.config.dashboard.public,
    }),
    rateLimit(deps.limiter),
    bodyLimit(server.bodyLimitBytes),
  ];
  return steps.filter((step) => step !== null);
}
