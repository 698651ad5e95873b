import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { Dispatcher } from "undici";
import type { Endpoint } from "../process/supervisor.js";
import { target } from "../process/supervisor-types.js";
import { isAbort, isRetryable, upstreamError } from "./upstream-error.js";

export interface PassthroughInput {
  readonly endpoint: Endpoint;
  readonly modelId: string;
  /** Path and query on llama-server, starting with /. */
  readonly path: string;
  readonly requestId: string;
  readonly headersTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly signal: AbortSignal;
}

/** Request headers llama-server may need; the client's own auth never goes upstream. */
const REQUEST_HEADERS = ["content-type", "accept", "accept-encoding", "content-length"] as const;
/** Response headers passed back; hop-by-hop and server headers are left out. */
const RESPONSE_HEADERS = [
  "content-type",
  "content-length",
  "content-encoding",
  "cache-control",
  "etag",
  "last-modified",
] as const;

/**
 * Forwards one request as it is (method, path, query, body streamed, answer streamed back with
 * backpressure) to one llama-server: its web UI, /slots, /props, /metrics and whatever it
 * serves. No shaping and no validation: this is the admin's raw door to the backend.
 */
export async function passthrough(
  dispatcher: Dispatcher,
  input: PassthroughInput,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const headers: Record<string, string> = { "x-request-id": input.requestId };
  if (input.endpoint.apiKey !== "") headers.authorization = `Bearer ${input.endpoint.apiKey}`;
  const { origin, path } = target(input.endpoint, input.path);
  for (const name of REQUEST_HEADERS) {
    const value = req.headers[name];
    if (typeof value === "string") headers[name] = value;
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const send = () =>
    dispatcher.request({
      origin,
      path,
      method: (req.method ?? "GET") as Dispatcher.HttpMethod,
      headers,
      body: hasBody ? req : null,
      signal: input.signal,
      headersTimeout: input.headersTimeoutMs,
      bodyTimeout: input.idleTimeoutMs,
    });
  let upstream: Dispatcher.ResponseData;
  try {
    // A pooled keep-alive connection llama-server closed as it was reused fails before any
    // response byte; without a body (its stream cannot be replayed) one retry on a fresh
    // connection is safe, as in forward().
    upstream = await send().catch((error: unknown) => {
      if (hasBody || !isRetryable(error) || input.signal.aborted) throw error;
      return send();
    });
  } catch (error) {
    if (isAbort(error) || input.signal.aborted) return;
    throw upstreamError(error, input.modelId);
  }
  const answer: Record<string, string> = { "x-request-id": input.requestId };
  for (const name of RESPONSE_HEADERS) {
    const value = upstream.headers[name];
    if (typeof value === "string") answer[name] = value;
  }
  res.writeHead(upstream.statusCode, answer);
  try {
    await pipeline(upstream.body, res);
  } catch {
    // The client left or the backend broke mid-answer: the status is sent, so only a cut
    // connection can tell the client; pipeline has destroyed both sides.
  }
}
