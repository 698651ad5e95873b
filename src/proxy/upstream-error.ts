import { GatewayError } from "../errors/gateway-error.js";

/**
 * Maps what undici reports about the connection to a child onto the error table. A refused or
 * reset connection before any response byte means the backend died (502 backend_crashed);
 * no headers within the deadline is a 504.
 */
export function upstreamError(error: unknown, modelId: string): GatewayError {
  if (error instanceof GatewayError) return error;
  const code = (error as { code?: string }).code ?? "";
  const message = (error as Error).message ?? String(error);
  if (code === "UND_ERR_HEADERS_TIMEOUT") {
    return new GatewayError("upstream_timeout", `model ${modelId}: llama-server sent no response in time`);
  }
  if (code === "UND_ERR_BODY_TIMEOUT") {
    return new GatewayError(
      "upstream_timeout",
      `model ${modelId}: llama-server stopped sending (idle timeout)`,
    );
  }
  return new GatewayError(
    "backend_crashed",
    `model ${modelId}: connection to llama-server failed (${code || message})`,
    {
      cause: error,
    },
  );
}

/** undici's abort error: the client went away and we cancelled the upstream request ourselves. */
export function isAbort(error: unknown): boolean {
  const name = (error as { name?: string }).name;
  const code = (error as { code?: string }).code;
  return name === "AbortError" || code === "UND_ERR_ABORTED" || code === "ABORT_ERR";
}

/** The connection failed before any response byte: reset, refused or closed by the other side. */
export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === "ECONNRESET" || code === "ECONNREFUSED" || code === "EPIPE" || code === "UND_ERR_SOCKET";
}
