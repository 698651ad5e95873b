import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import type { GatewayError } from "../errors/gateway-error.js";
import type { Endpoint } from "../process/supervisor.js";
import { backendError } from "./backend-error.js";
import { readWhole, relaySse, shapeJson } from "./relay.js";
import type { Shaping } from "./shaping.js";
import { isAbort, isRetryable, upstreamError } from "./upstream-error.js";
import type { Usage } from "./usage.js";

export interface ForwardInput {
  readonly endpoint: Endpoint;
  readonly method: string;
  readonly path: string;
  readonly body: Buffer | null;
  readonly requestId: string;
  /** Deadline for llama-server's response headers (a non-streaming answer arrives whole). */
  readonly headersTimeoutMs: number;
  /** Longest silence allowed between two body chunks. */
  readonly idleTimeoutMs: number;
  readonly signal: AbortSignal;
  readonly shaping: Shaping;
}

interface OutcomeBase {
  readonly status: number;
  readonly firstByteAt: number | null;
  /** Token counts from the answer (the final chunk of a stream); null when it had none. */
  readonly usage: Usage | null;
}

export type ForwardOutcome =
  | (OutcomeBase & { readonly kind: "completed" })
  /** Failed after the response started; the client got an in-band error or a cut connection. */
  | (OutcomeBase & { readonly kind: "broken"; readonly error: GatewayError })
  | (OutcomeBase & { readonly kind: "client-gone" });

/** Response headers worth passing on; everything else (server, CORS, hop-by-hop) is ours to set. */
function responseHeaders(upstream: IncomingHttpHeaders, requestId: string): Record<string, string> {
  const headers: Record<string, string> = { "x-request-id": requestId };
  const type = upstream["content-type"];
  if (typeof type === "string") headers["content-type"] = type;
  return headers;
}

function send(dispatcher: Dispatcher, input: ForwardInput): Promise<Dispatcher.ResponseData> {
  return dispatcher.request({
    origin: `http://127.0.0.1:${input.endpoint.port}`,
    path: input.path,
    method: input.method as Dispatcher.HttpMethod,
    headers: {
      authorization: `Bearer ${input.endpoint.apiKey}`,
      "content-type": "application/json",
      "x-request-id": input.requestId,
    },
    body: input.body,
    signal: input.signal,
    headersTimeout: input.headersTimeoutMs,
    bodyTimeout: input.idleTimeoutMs,
  });
}

/**
 * Sends one request to one llama-server and relays its answer, shaped (see Shaping): a stream
 * event by event as it arrives, a JSON answer whole. Errors before the response started are
 * thrown (the caller renders them as JSON): a dead backend as 502, llama-server's own error
 * answer with its status in OpenAI's shape. After that, a stream ends with an in-band error.
 */
export async function forward(
  dispatcher: Dispatcher,
  input: ForwardInput,
  res: ServerResponse,
): Promise<ForwardOutcome> {
  const { shaping } = input;
  let upstream: Dispatcher.ResponseData;
  try {
    upstream = await send(dispatcher, input).catch((error: unknown) => {
      // A pooled keep-alive connection that llama-server closed as we reused it fails before
      // any response byte: llama-server never saw the request, so one retry on a fresh
      // connection is safe (the RELIABILITY.md retry rule).
      if (!isRetryable(error) || input.signal.aborted) throw error;
      return send(dispatcher, input);
    });
  } catch (error) {
    if (isAbort(error) || input.signal.aborted)
      return { kind: "client-gone", status: 499, firstByteAt: null, usage: null };
    throw upstreamError(error, shaping.modelId);
  }
  const status = upstream.statusCode;
  const contentType = String(upstream.headers["content-type"] ?? "");
  const headers = responseHeaders(upstream.headers, input.requestId);
  if (contentType.startsWith("text/event-stream") && status < 400) {
    headers["cache-control"] = "no-cache";
    headers["x-accel-buffering"] = "no";
    res.writeHead(status, headers);
    res.flushHeaders();
    const relayed = await relaySse(upstream.body, res, shaping, input.signal);
    const base = { status, firstByteAt: relayed.firstByteAt, usage: relayed.usage };
    if (relayed.kind === "broken" && relayed.failure !== null)
      return { ...base, kind: "broken", error: relayed.failure };
    return { ...base, kind: relayed.kind === "client-gone" ? "client-gone" : "completed" };
  }
  let firstByteAt: number | null = null;
  let body: Buffer;
  try {
    body = await readWhole(upstream.body, () => {
      firstByteAt = performance.now();
    });
  } catch (error) {
    if (isAbort(error) || input.signal.aborted)
      return { kind: "client-gone", status, firstByteAt, usage: null };
    throw upstreamError(error, shaping.modelId);
  }
  if (status >= 400) throw backendError(status, body, shaping.modelId);
  const shaped = contentType.includes("json") ? shapeJson(body, shaping) : { body, usage: null };
  headers["content-length"] = String(shaped.body.length);
  res.writeHead(status, headers);
  res.end(shaped.body);
  return { kind: "completed", status, firstByteAt, usage: shaped.usage };
}
