import { replaceModelValues } from "./json-bytes.js";
import { completeResponse } from "./responses-object.js";
import type { Shaping } from "./shaping.js";
import { type Usage, UsageTally } from "./usage.js";

/**
 * A non-streamed JSON answer: read whole (its length can change when `model` is rewritten),
 * usage taken from it, written with its new length. One native search finds each key; only
 * the native /infill shape and the Responses API's object (completed to OpenAI's spec,
 * responses-object.ts) are parsed whole.
 */
export function shapeJson(
  body: Buffer,
  shaping: Shaping,
): { body: Buffer; usage: Usage | null; speed: number | null; prefill: number | null } {
  const tally = new UsageTally(shaping.dialect);
  if (shaping.dialect === "responses") {
    const response = responsesObject(body);
    if (response !== null) {
      if (typeof response.usage === "object" && response.usage !== null)
        tally.add(response.usage as Record<string, unknown>);
      const complete = completeResponse(response, shaping.modelName, shaping.request);
      return {
        body: Buffer.from(JSON.stringify(complete)),
        usage: tally.result(),
        speed: tally.speed(),
        prefill: tally.prefillSpeed(),
      };
    }
  }
  if (shaping.dialect === "native") {
    try {
      const parsed: unknown = JSON.parse(body.toString("utf8"));
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
        tally.add(parsed as Record<string, unknown>);
    } catch {
      // Not JSON: passed on as it is, without usage.
    }
  } else if (shaping.dialect !== "none") {
    tally.scan(body);
  }
  return {
    body: replaceModelValues(body, Buffer.from(JSON.stringify(shaping.modelName))),
    usage: tally.result(),
    speed: tally.speed(),
    prefill: tally.prefillSpeed(),
  };
}

/** llama-server's Responses API answer (`"object":"response"`), or null for anything else. */
function responsesObject(body: Buffer): Record<string, unknown> | null {
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8"));
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
    const object = parsed as Record<string, unknown>;
    return object.object === "response" ? object : null;
  } catch {
    return null;
  }
}
