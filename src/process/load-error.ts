import { GatewayError } from "../errors/gateway-error.js";
import type { ReadyOutcome } from "./running-child.js";

/** What a client is told when an instance of model `id` did not become ready. */
export function loadError(
  outcome: Exclude<ReadyOutcome, { kind: "ready" }>,
  id: string,
  startupTimeoutMs: number,
): GatewayError {
  if (outcome.kind === "aborted")
    return new GatewayError("shutting_down", `loading model ${id} was cancelled`);
  if (outcome.kind === "timeout")
    return new GatewayError(
      "model_load_timeout",
      `model ${id} did not become ready within ${startupTimeoutMs / 1000}s`,
    );
  return new GatewayError(
    "model_load_failed",
    // Its output can hold paths and stack traces: operators read it in the admin API
    // (GET /admin/models/{id}/logs) and the log, never in a client's error.
    `model ${id}: llama-server exited with ${outcome.signal ?? `code ${outcome.code}`} while loading`,
  );
}
