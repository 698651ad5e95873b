import type { GatewayError } from "../errors/gateway-error.js";
import { renderStreamError } from "../errors/render.js";
import type { Dialect } from "./usage.js";

/**
 * The in-band ending of a stream that failed after its headers went out, in the event shape
 * the client's SDK understands, so it raises an error instead of seeing a quietly short answer:
 * OpenAI's `data: {"error":…}` + `data: [DONE]`; Anthropic's `event: error` with its error type
 * (errors/anthropic-error.ts); the Responses API's `event: error` with `type: "error"` and the
 * stream's next `sequence_number` (0 when no event went out yet).
 */
export function streamFailure(error: GatewayError, dialect: Dialect, sequenceNumber = 0): string {
  if (dialect === "responses") {
    const data = {
      type: "error",
      sequence_number: sequenceNumber,
      code: error.code,
      message: error.message,
      param: error.param,
    };
    return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
  }
  return renderStreamError(error, dialect === "anthropic" ? "anthropic" : "openai");
}
