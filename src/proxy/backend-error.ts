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

/** Error answers up to this size are parsed whole; a larger one is only looked at its ends. */
const PARSE_LIMIT = 64 * 1024;
/** Bytes of a large answer's start searched for its message (a message is cut to MESSAGE_LIMIT). */
const HEAD_BYTES = MESSAGE_LIMIT * 4 + 256;
const TAIL_BYTES = 256;

/**
 * The message and type of an error answer too large to parse (llama-server's "Failed to parse
 * tools" echoes its input, so a small request can make a huge one): the message is read from
 * the answer's first bytes and the type from its last (format_error_response writes `message`
 * before `type`), without decoding the rest.
 */
function skim(body: Buffer): { message: string | undefined; type: unknown } {
  const head = body.toString("utf8", 0, HEAD_BYTES);
  const tail = body.toString("utf8", body.length - TAIL_BYTES);
  const start = /"message"\s*:\s*"((?:[^"\\]|\\.)*)/.exec(head)?.[1];
  let message: string | undefined;
  if (start !== undefined) {
    // The string may be cut inside an escape: drop a trailing partial one before decoding.
    const whole = start.replace(/\\(u[0-9a-fA-F]{0,3})?$/, "");
    try {
      message = JSON.parse(`"${whole}"`) as string;
    } catch {
      message = whole;
    }
  }
  return { message, type: /"type"\s*:\s*"([a-z_]+)"\s*}\s*}\s*$/.exec(tail)?.[1] };
}

/**
 * Turns llama-server's error answer (`{"error":{"code":400,"message":…,"type":…}}`, see
 * server-common.cpp format_error_response) into a gateway error with the same status where
 * the table has one, so the client sees OpenAI's shape with a code from our closed table. Only
 * as much of the answer is decoded as that needs.
 */
export function backendError(status: number, body: Buffer, modelId: string): GatewayError {
  let message: string | undefined;
  let type: unknown;
  if (body.length <= PARSE_LIMIT) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      parsed = undefined;
    }
    message = messageOf(parsed);
    type = typeOf(parsed);
  } else {
    ({ message, type } = skim(body));
  }
  const code = codeFor(status, type);
  const text = message ?? body.toString("utf8", 0, HEAD_BYTES).trim();
  const detail = text === "" ? `HTTP ${status}` : text.slice(0, MESSAGE_LIMIT);
  const full =
    code === "backend_error" ? `model ${modelId}: llama-server answered ${status}: ${detail}` : detail;
  return new GatewayError(code, full);
}
