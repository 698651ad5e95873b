import type { GatewayError } from "../errors/gateway-error.js";
import { renderStreamError } from "../errors/render.js";
import type { Dialect } from "./usage.js";

/**
 * The in-band ending of a stream that failed after its headers went out, in the event shape
 * the client's SDK understands, so it raises an error instead of seeing a quietly short answer:
 * OpenAI's `data: {"error":…}` + `data: [DONE]`; Anthropic's `event: error`; the Responses
 * API's `event: error` with `type: "error"`.
 */
export function streamFailure(error: GatewayError, dialect: Dialect): string {
  if (dialect === "anthropic") {
    const data = { type: "error", error: { type: "api_error", message: error.message } };
    return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
  }
  if (dialect === "responses") {
    const data = { type: "error", code: error.code, message: error.message, param: error.param };
    return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
  }
  return renderStreamError(error);
}
