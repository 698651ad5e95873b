import type { ErrorCode } from "../errors/codes.js";
import { GatewayError } from "../errors/gateway-error.js";

/** Longest llama-server message passed on; its messages are one line, a wrapper's may be a page. */
const MESSAGE_LIMIT = 1000;

function codeFor(status: number, type: unknown): ErrorCode {
  switch (status) {
    case 400:
      return type === "exceed_context_size_error" ? "context_length_exceeded" : "invalid_request";
    case 404:
      return "not_found";
    case 413:
      return "body_too_large";
    case 500:
      return "backend_internal_error";
    case 501:
      return "not_supported";
    case 503:
      return "backend_unavailable";
    default:
      // 401/403 mean llama-server refused the gateway's own per-instance key: never the
      // client's fault, so not passed on as an auth error the client would try to fix.
      return "backend_error";
  }
}

function messageOf(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error === "string") return error;
  if (typeof error === "object" && error !== null) {
    const message = (error as { message?: unknown }).message;
    if (typeof message === "string") return message;
  }
  const message = (body as { message?: unknown }).message;
  return typeof message === "string" ? message : undefined;
}

function typeOf(body: unknown): unknown {
  const error = typeof body === "object" && body !== null ? (body as { error?: unknown }).error : undefined;
  return typeof error === "object" && error !== null ? (error as { type?: unknown }).type : undefined;
}

/**
 * Turns llama-server's error answer (`{"error":{"code":400,"message":…,"type":…}}`, see
 * server-common.cpp format_error_response) into a gateway error with the same status where
 * the table has one, so the client sees OpenAI's shape with a code from our closed table.
 */
export function backendError(status: number, body: Buffer, modelId: string): GatewayError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    parsed = undefined;
  }
  const code = codeFor(status, typeOf(parsed));
  const text = messageOf(parsed) ?? body.toString("utf8").trim();
  const detail = text === "" ? `HTTP ${status}` : text.slice(0, MESSAGE_LIMIT);
  const message =
    code === "backend_error" ? `model ${modelId}: llama-server answered ${status}: ${detail}` : detail;
  return new GatewayError(code, message);
}
