import { ERROR_CODES, type ErrorCode, type ErrorSpec } from "./codes.js";

export interface GatewayErrorOptions {
  /** The request field the error is about, as OpenAI's `param`. */
  readonly param?: string;
  /** Seconds for `Retry-After`; only sent for retryable codes. */
  readonly retryAfterSeconds?: number;
  /** Overrides the code's retry advice (`x-should-retry`), e.g. a parked model's long cool-down. */
  readonly shouldRetry?: boolean;
  readonly cause?: unknown;
}

/** The one error type of the gateway: a code from the closed table plus a human message. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly param: string | null;
  readonly retryAfterSeconds: number | undefined;
  /**
   * Whether a client retrying the same request can succeed (`x-should-retry`, which the OpenAI
   * and Anthropic SDKs honour over their own rules): true for the retryable codes, false for a
   * 409 or 5xx that a retry cannot fix (the SDKs would otherwise retry those by default),
   * undefined where the SDKs' defaults are right (4xx).
   */
  readonly shouldRetry: boolean | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "GatewayError";
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.param = options.param ?? null;
    const spec: ErrorSpec = ERROR_CODES[code];
    this.shouldRetry =
      options.shouldRetry ??
      spec.shouldRetry ??
      (spec.retryable ? true : spec.status >= 500 || spec.status === 409 ? false : undefined);
    this.retryAfterSeconds =
      spec.retryable && this.shouldRetry !== false ? (options.retryAfterSeconds ?? 1) : undefined;
  }
}

/** Anything thrown that is not a GatewayError is a bug: report it as internal_error. */
export function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new GatewayError("internal_error", `internal error: ${message}`, { cause: error });
}
