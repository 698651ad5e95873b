import { z } from "zod";
import { durationSchema, optionalDurationSchema } from "./unit-schemas.js";

/**
 * The fields of SLA objectives (docs/metrics.md, "SLA"). Functions, not constants, for the same
 * reason as schema.ts (zod's global registry).
 */
export function slaFields() {
  return {
    ttft: optionalDurationSchema(
      "Objective for time to first token of streamed requests: a successful one slower than this is outside the objective.",
    ),
    latency: optionalDurationSchema(
      "Objective for a whole request's duration: a successful one slower than this is outside the objective.",
    ),
    availability: z
      .number()
      .min(0)
      .lt(1)
      .default(0.99)
      .describe(
        "Share of requests that must be good (not failed with 5xx, within the ttft and latency objectives); 1 minus it is the error budget. Default 0.99.",
      ),
    window: durationSchema("1h", "The sliding window the SLA numbers are computed over.", 60_000),
  };
}

/** Top-level `sla:`: the objectives of every model that does not set its own. */
export function slaSchema() {
  return z
    .strictObject(slaFields())
    .prefault({})
    .describe(
      "Service-level objectives, tracked per model over a sliding window: availability, time to first token, latency, error budget and burn rate in /metrics and /admin/status.",
    );
}
