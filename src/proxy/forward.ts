import type { ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import { GatewayError } from "../errors/gateway-error.js";
import type { Endpoint } from "../process/supervisor.js";
import { target } from "../process/supervisor-types.js";
import { backendError } from "./backend-error.js";
import { shapeJson } from "./shape-json.js";
import type { Shaping } from "./shaping.js";
import { SseRewriter } from "./sse-rewriter.js";
import { isAbort, isRetryable, upstreamError } from "./upstream-error.js";
import type { Usage } from "./usage.js";

export interface ForwardInput {
  readonly endpoint: Endpoint;
  readonly method: string;
  readonly path: string;
  readonly body: Buffer | null;
  readonly requestId: string;
  /** The client's W3C traceparent, passed on so llama-server's spans (if any) join the trace. */
  readonly traceparent?: string | null;
  /** Deadline for llama-server's response headers (a non-streaming answer arrives whole). */
  readonly headersTimeoutMs: number;
  /** Longest silence allowed between two body chunks. */
  readonly idleTimeoutMs: number;
  readonly signal: AbortSignal;
  /**
   * Aborted with a GatewayError when the gateway cuts the request (its shutdown drain ran out):
   * before the answer started, the caller gets that error; a stream ends with it in-band.
   */
  readonly cut?: AbortSignal;
  /** Called when llama-server's answer starts, before anything of it is written. */
  readonly onStart?: () => void;
  readonly shaping: Shaping;
  /**
   * Most bytes of an answer read whole (not a successful stream: a JSON answer, or any error)
   * held in memory; past it the upstream request is cancelled and the caller gets 502
   * backend_response_too_large. Default DEFAULT_MAX_BUFFER_BYTES (server.maxResponseBuffer).
   */
  readonly maxBufferBytes?: number | undefined;
  /**
   * Sees llama-server's successful answer (status 2xx) as it arrives, before any shaping: each
   * chunk of a stream, or the whole body of an answer read whole. How the answer ended is the
   * promise's outcome; a tap only watches (the response cache records answers through it).
   */
  readonly tap?: ((chunk: Buffer) => void) | undefined;
}

interface OutcomeBase {
  readonly status: number;
  readonly firstByteAt: number | null;
  /** Token counts from the answer (the final chunk of a stream); null when it had none. */
  readonly usage: Usage | null;
  /** llama-server's generation speed (its timings.predicted_per_second); null when not reported. */
  readonly tokensPerSecond?: number | null;
  /** llama-server's prompt speed (timings.prompt_per_second over a long enough prompt); null when not reported. */
  readonly prefillPerSecond?: number | null;
}

export type ForwardOutcome =
  | (OutcomeBase & { readonly kind: "completed" })
  /** Failed after the response started; the client got an in-band error or a cut connection. */
  | (OutcomeBase & { readonly kind: "broken"; readonly error: GatewayError })
  | (OutcomeBase & { readonly kind: "client-gone" });

/** server.maxResponseBuffer's default. */
export const DEFAULT_MAX_BUFFER_BYTES = 16 * 1024 * 1024;

function tooLarge(modelId: string, status: number, limit: number): GatewayError {
  return new GatewayError(
    "backend_response_too_large",
    `model ${modelId}: llama-server's answer (HTTP ${status}) is larger than ${limit} bytes (server.maxResponseBuffer); the gateway stopped reading it`,
  );
}

/** The request to llama-server; built once per forward, sent again as is on the one retry. */
function upstreamRequest(input: ForwardInput): Dispatcher.DispatchOptions {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-request-id": input.requestId,
  };
  if (input.endpoint.apiKey !== "") headers.authorization = `Bearer ${input.endpoint.apiKey}`;
  if (input.traceparent) headers.traceparent = input.traceparent;
  const { origin, path } = target(input.endpoint, input.path);
  return {
    origin,
    path,
    method: input.method as Dispatcher.HttpMethod,
    headers,
    body: input.body,
    headersTimeout: input.headersTimeoutMs,
    bodyTimeout: input.idleTimeoutMs,
  };
}

/**
 * Sends one request to one llama-server and relays its answer, shaped (see Shaping): a stream
 * event by event as it arrives, a JSON answer whole. Errors before the response started are
 * thrown (the caller renders them as JSON): a dead backend as 502, llama-server's own error
 * answer with its status in OpenAI's shape. After that, a stream ends with an in-band error.
 *
 * Built on undici's dispatch handler rather than `request()`: the answer's bytes arrive as
 * callbacks and go straight to the client, with no Readable body, async iterator or extra
 * abort wiring per request (the request path's largest avoidable cost in the CPU profile).
 * The client's X-Request-ID is already on `res` (handle-request.ts).
 */
export function forward(
  dispatcher: Dispatcher,
  input: ForwardInput,
  res: ServerResponse,
): Promise<ForwardOutcome> {
  const { shaping, signal } = input;
  return new Promise<ForwardOutcome>((resolve, reject) => {
    if (signal.aborted) {
      resolve({ kind: "client-gone", status: 499, firstByteAt: null, usage: null });
      return;
    }
    const options = upstreamRequest(input);
    let attempt = 0;
    let controller: Dispatcher.DispatchController | null = null;
    let settled = false;
    let status = 0;
    let firstByteAt: number | null = null;
    /** Set once the response started: null for an answer read whole. */
    let rewriter: SseRewriter | null = null;
    let started = false;
    /** llama-server's Content-Type as text ("" when it sent none), and whether to pass it on. */
    let contentType = "";
    let passContentType = false;
    const chunks: Buffer[] = [];
    let size = 0;
    const maxBuffer = input.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
    /**
     * An answer read whole outgrew maxBuffer: the caller gets the 502 now, what was held is
     * dropped, and the upstream request is cancelled (not from inside undici's callback).
     */
    const overflow = (c: Dispatcher.DispatchController) => {
      chunks.length = 0;
      size = 0;
      const failure = tooLarge(shaping.modelId, status, maxBuffer);
      fail(failure);
      queueMicrotask(() => c.abort(failure));
    };

    const onAbort = () => controller?.abort(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    const cut = input.cut;
    const onCut = () => controller?.abort(cut?.reason as Error);
    cut?.addEventListener("abort", onCut, { once: true });
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      cut?.removeEventListener("abort", onCut);
      return true;
    };
    const finish = (outcome: ForwardOutcome) => {
      if (settle()) resolve(outcome);
    };
    const tap = input.tap;
    const fail = (error: unknown) => {
      if (settle()) reject(error);
    };
    const usage = () => rewriter?.usage() ?? null;
    /** The stream's outcome once llama-server reported an error in it: the output already ended it. */
    const endIfFailed = (): boolean => {
      const failure = rewriter?.failure ?? null;
      if (failure === null) return false;
      finish({ kind: "broken", status, firstByteAt, usage: usage(), error: failure });
      res.end();
      // Not from inside undici's parser callback: once this callback has returned.
      const c = controller;
      queueMicrotask(() => c?.abort(failure));
      return true;
    };
    let waitingForDrain = false;
    const onDrain = () => {
      waitingForDrain = false;
      if (settled || endIfFailed()) return;
      controller?.resume();
    };

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (signal.aborted) c.abort(signal.reason as Error);
        else if (cut?.aborted) c.abort(cut.reason as Error);
      },
      onResponseStart(c, statusCode, headers) {
        started = true;
        input.onStart?.();
        status = statusCode;
        const type = headers["content-type"];
        contentType = String(type ?? "");
        passContentType = typeof type === "string";
        // Anything but a successful stream is read whole (shaped in onResponseEnd: its length
        // can change when `model` is rewritten), up to maxBuffer.
        if (!contentType.startsWith("text/event-stream") || status >= 400) {
          if (Number(headers["content-length"]) > maxBuffer) overflow(c);
          return;
        }
        rewriter = new SseRewriter(shaping);
        // A request that waited may have opened its stream already (wait notices): go on in it.
        if (!res.headersSent) {
          res.writeHead(status, {
            "content-type": contentType,
            "cache-control": "no-cache",
            "x-accel-buffering": "no",
          });
          res.flushHeaders();
        }
      },
      onResponseData(c, chunk) {
        if (settled) return;
        firstByteAt ??= performance.now();
        if (rewriter === null) {
          if (size + chunk.length > maxBuffer) return overflow(c);
          chunks.push(chunk);
          size += chunk.length;
          return;
        }
        // Each complete event is written at once; reading pauses while the client's socket is full.
        const out = rewriter.push(chunk);
        const flowing = out === null || res.write(out);
        // The tap sees the chunk once its bytes are on their way: recording never delays them.
        if (tap !== undefined && status < 300) tap(chunk);
        if (!flowing) {
          c.pause();
          if (!waitingForDrain) res.once("drain", onDrain);
          waitingForDrain = true;
          return;
        }
        if (waitingForDrain) return;
        endIfFailed();
      },
      onResponseEnd() {
        if (settled) return;
        if (rewriter !== null) {
          const tail = rewriter.end();
          finish({
            kind: "completed",
            status,
            firstByteAt,
            usage: usage(),
            tokensPerSecond: rewriter.speed(),
            prefillPerSecond: rewriter.prefillSpeed(),
          });
          if (tail === null) res.end();
          else res.end(tail);
          return;
        }
        const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
        if (status >= 400) {
          fail(backendError(status, body, shaping.modelId));
          return;
        }
        if (tap !== undefined && status < 300) tap(body);
        const shaped = contentType.includes("json")
          ? shapeJson(body, shaping)
          : { body, usage: null, speed: null, prefill: null };
        const headers: Record<string, string> = {};
        if (passContentType) headers["content-type"] = contentType;
        headers["content-length"] = String(shaped.body.length);
        finish({
          kind: "completed",
          status,
          firstByteAt,
          usage: shaped.usage,
          tokensPerSecond: shaped.speed,
          prefillPerSecond: shaped.prefill,
        });
        res.writeHead(status, headers);
        res.end(shaped.body);
      },
      onResponseError(_c, error) {
        if (settled) return;
        const gone = isAbort(error) || signal.aborted;
        if (!started) {
          if (gone) return finish({ kind: "client-gone", status: 499, firstByteAt: null, usage: null });
          // A pooled keep-alive connection that llama-server closed as we reused it fails before
          // any response byte: llama-server never saw the request, so one retry on a fresh
          // connection is safe (the retry rule in docs/architecture.md).
          if (attempt === 1 && isRetryable(error)) return send();
          return fail(upstreamError(error, shaping.modelId));
        }
        if (rewriter === null) {
          if (gone) return finish({ kind: "client-gone", status, firstByteAt, usage: null });
          return fail(upstreamError(error, shaping.modelId));
        }
        if (gone || res.destroyed)
          return finish({ kind: "client-gone", status, firstByteAt, usage: usage() });
        const failure = upstreamError(error, shaping.modelId);
        finish({ kind: "broken", status, firstByteAt, usage: usage(), error: failure });
        res.end(rewriter.failureEvent(failure));
      },
    };
    const send = () => {
      attempt++;
      controller = null;
      dispatcher.dispatch(options, handler);
    };
    send();
  });
}
