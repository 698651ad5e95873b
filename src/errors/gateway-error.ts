import { ERROR_CODES, type ErrorCode } from "./codes.js";

export interface GatewayErrorOptions {
  /** The request field the error is about, as OpenAI's `param`. */
  readonly param?: string;
  /** Seconds for `Retry-After`; only sent for retryable codes. */
  readonly retryAfterSeconds?: number;
  readonly cause?: unknown;
}

/** The one error type of the gateway: a code from the closed table plus a human message. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly param: string | null;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GatewayError";
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.param = options.param ?? null;
    this.retryAfterSeconds = ERROR_CODES[code].retryable ? (options.retryAfterSeconds ?? 1) : undefined;
  }
}

/** Anything thrown that is not a GatewayError is a bug: report it as internal_error. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new GatewayError("internal_error", `internal error: ${message}`, { cause: error });
}
