import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import type { GatewayError } from "../errors/gateway-error.js";
import { renderStreamError } from "../errors/render.js";
import type { Endpoint } from "../process/supervisor.js";
import { isAbort, isRetryable, upstreamError } from "./upstream-error.js";

export interface ForwardInput {
  readonly modelId: string;
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
}

export type ForwardOutcome =
  | { readonly kind: "completed"; readonly status: number; readonly firstByteAt: number | null }
  /** Failed after the response started; the client got an in-band error or a cut connection. */
  | {
      readonly kind: "broken";
      readonly status: number;
      readonly error: GatewayError;
      readonly firstByteAt: number | null;
    }
  | { readonly kind: "client-gone"; readonly status: number; readonly firstByteAt: number | null };

/** Response headers worth passing on; everything else (server, CORS, hop-by-hop) is ours to set. */
const PASSED_HEADERS = ["content-type", "content-length"] as const;

function responseHeaders(
  upstream: IncomingHttpHeaders,
  isSse: boolean,
  requestId: string,
): Record<string, string> {
  const headers: Record<string, string> = { "x-request-id": requestId };
  for (const name of PASSED_HEADERS) {
    const value = upstream[name];
    if (typeof value === "string") headers[name] = value;
  }
  if (isSse) {
    delete headers["content-length"];
    headers["cache-control"] = "no-cache";
    headers["x-accel-buffering"] = "no";
  }
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

/** Resolves when the client can take more, or false when it went away first. */
function drained(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = () => done(true);
    const onClose = () => done(false);
    const done = (value: boolean) => {
      res.off("drain", onDrain);
      res.off("close", onClose);
      resolve(value);
    };
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}

/**
 * Sends one request to one llama-server and streams its answer to the client chunk by chunk,
 * never buffering: each chunk is written as it arrives, and reading pauses while the client's
 * socket is full. Errors before the response started are thrown (the caller renders them as
 * JSON); after that, an SSE stream ends with an in-band error event and [DONE].
 */
export async function forward(
  dispatcher: Dispatcher,
  input: ForwardInput,
  res: ServerResponse,
): Promise<ForwardOutcome> {
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
    if (isAbort(error) || input.signal.aborted) return { kind: "client-gone", status: 499, firstByteAt: null };
    throw upstreamError(error, input.modelId);
  }
  const status = upstream.statusCode;
  const contentType = String(upstream.headers["content-type"] ?? "");
  const isSse = contentType.startsWith("text/event-stream");
  res.writeHead(status, responseHeaders(upstream.headers, isSse, input.requestId));
  if (isSse) res.flushHeaders();
  let firstByteAt: number | null = null;
  try {
    for await (const chunk of upstream.body) {
      firstByteAt ??= performance.now();
      if (!res.write(chunk) && !(await drained(res))) {
        upstream.body.destroy();
        return { kind: "client-gone", status, firstByteAt };
      }
    }
  } catch (error) {
    if (isAbort(error) || input.signal.aborted || res.destroyed)
      return { kind: "client-gone", status, firstByteAt };
    const failure = upstreamError(error, input.modelId);
    if (isSse) res.end(renderStreamError(failure));
    else res.destroy(failure);
    return { kind: "broken", status, error: failure, firstByteAt };
  }
  res.end();
  return { kind: "completed", status, firstByteAt };
}
