import type { ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import { GatewayError } from "../errors/gateway-error.js";
import type { Endpoint } from "../process/supervisor.js";
import { target } from "../process/supervisor-types.js";
import { backendError } from "./backend-error.js";
import type { ClientWatch, ClientWatcher } from "./client-watch.js";
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
  /** The client: whether it left, and a way to hear of it leaving (http/request-state.ts). */
  readonly client: ClientWatch;
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
  if (input.client.leftWith !== null)
    return Promise.resolve({ kind: "client-gone", status: 499, firstByteAt: null, usage: null });
  return new Promise<ForwardOutcome>((resolve, reject) => {
    new Relay(dispatcher, input, res, resolve, reject).send();
  });
}

/**
 * One forward's state and undici's handler for it, as one object with its methods on the
 * prototype: a request allocates this object, not a dozen closures (issue 15). It also listens
 * for the client's and the shutdown's aborts itself (`handleEvent`).
 */
class Relay implements Dispatcher.DispatchHandler, ClientWatcher {
  readonly #dispatcher: Dispatcher;
  readonly #input: ForwardInput;
  readonly #res: ServerResponse;
  readonly #resolve: (outcome: ForwardOutcome) => void;
  readonly #reject: (error: unknown) => void;
  readonly #options: Dispatcher.DispatchOptions;
  readonly #maxBuffer: number;
  #attempt = 0;
  #controller: Dispatcher.DispatchController | null = null;
  #settled = false;
  #status = 0;
  #firstByteAt: number | null = null;
  /** Set once the response started: null for an answer read whole. */
  #rewriter: SseRewriter | null = null;
  #started = false;
  /** llama-server's Content-Type as text ("" when it sent none), and whether to pass it on. */
  #contentType = "";
  #passContentType = false;
  #chunks: Buffer[] = [];
  #size = 0;
  #waitingForDrain = false;
  #onDrain: (() => void) | null = null;

  constructor(
    dispatcher: Dispatcher,
    input: ForwardInput,
    res: ServerResponse,
    resolve: (outcome: ForwardOutcome) => void,
    reject: (error: unknown) => void,
  ) {
    this.#dispatcher = dispatcher;
    this.#input = input;
    this.#res = res;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#options = upstreamRequest(input);
    this.#maxBuffer = input.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
    input.client.watchClient(this);
    input.cut?.addEventListener("abort", this, { once: true });
  }

  send(): void {
    this.#attempt++;
    this.#controller = null;
    this.#dispatcher.dispatch(this.#options, this);
  }

  /** The client left: cancel the upstream request. */
  clientLeft(reason: Error): void {
    this.#controller?.abort(reason);
  }

  /** The gateway cut the request (cut): cancel the upstream request. */
  handleEvent(event: Event): void {
    const source = event.target as AbortSignal;
    this.#controller?.abort(source.reason as Error);
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#input.client.watchClient(null);
    this.#input.cut?.removeEventListener("abort", this);
    return true;
  }

  #finish(outcome: ForwardOutcome): void {
    if (this.#settle()) this.#resolve(outcome);
  }

  #fail(error: unknown): void {
    if (this.#settle()) this.#reject(error);
  }

  #usage(): Usage | null {
    return this.#rewriter?.usage() ?? null;
  }

  /**
   * An answer read whole outgrew maxBuffer: the caller gets the 502 now, what was held is
   * dropped, and the upstream request is cancelled (not from inside undici's callback).
   */
  #overflow(c: Dispatcher.DispatchController): void {
    this.#chunks.length = 0;
    this.#size = 0;
    const failure = tooLarge(this.#input.shaping.modelId, this.#status, this.#maxBuffer);
    this.#fail(failure);
    queueMicrotask(() => c.abort(failure));
  }

  /** The stream's outcome once llama-server reported an error in it: the output already ended it. */
  #endIfFailed(): boolean {
    const failure = this.#rewriter?.failure ?? null;
    if (failure === null) return false;
    this.#finish({
      kind: "broken",
      status: this.#status,
      firstByteAt: this.#firstByteAt,
      usage: this.#usage(),
      error: failure,
    });
    this.#res.end();
    // Not from inside undici's parser callback: once this callback has returned.
    const c = this.#controller;
    queueMicrotask(() => c?.abort(failure));
    return true;
  }

  #drained(): void {
    this.#waitingForDrain = false;
    if (this.#settled || this.#endIfFailed()) return;
    this.#controller?.resume();
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.#controller = c;
    const { client, cut } = this.#input;
    if (client.leftWith !== null) c.abort(client.leftWith);
    else if (cut?.aborted) c.abort(cut.reason as Error);
  }

  onResponseStart(
    c: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.#started = true;
    this.#input.onStart?.();
    this.#status = statusCode;
    const type = headers["content-type"];
    this.#contentType = String(type ?? "");
    this.#passContentType = typeof type === "string";
    // Anything but a successful stream is read whole (shaped in onResponseEnd: its length
    // can change when `model` is rewritten), up to maxBuffer.
    if (!this.#contentType.startsWith("text/event-stream") || statusCode >= 400) {
      if (Number(headers["content-length"]) > this.#maxBuffer) this.#overflow(c);
      return;
    }
    this.#rewriter = new SseRewriter(this.#input.shaping);
    // A request that waited may have opened its stream already (wait notices): go on in it.
    const res = this.#res;
    if (!res.headersSent) {
      res.writeHead(statusCode, {
        "content-type": this.#contentType,
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
      });
      res.flushHeaders();
    }
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return;
    this.#firstByteAt ??= performance.now();
    const rewriter = this.#rewriter;
    if (rewriter === null) {
      if (this.#size + chunk.length > this.#maxBuffer) {
        this.#overflow(c);
        return;
      }
      this.#chunks.push(chunk);
      this.#size += chunk.length;
      return;
    }
    // Each complete event is written at once; reading pauses while the client's socket is full.
    const out = rewriter.push(chunk);
    const flowing = out === null || this.#res.write(out);
    // The tap sees the chunk once its bytes are on their way: recording never delays them.
    const tap = this.#input.tap;
    if (tap !== undefined && this.#status < 300) tap(chunk);
    if (!flowing) {
      c.pause();
      if (!this.#waitingForDrain) {
        this.#onDrain ??= () => this.#drained();
        this.#res.once("drain", this.#onDrain);
      }
      this.#waitingForDrain = true;
      return;
    }
    if (this.#waitingForDrain) return;
    this.#endIfFailed();
  }

  onResponseEnd(): void {
    if (this.#settled) return;
    const res = this.#res;
    const status = this.#status;
    const rewriter = this.#rewriter;
    if (rewriter !== null) {
      const tail = rewriter.end();
      this.#finish({
        kind: "completed",
        status,
        firstByteAt: this.#firstByteAt,
        usage: this.#usage(),
        tokensPerSecond: rewriter.speed(),
        prefillPerSecond: rewriter.prefillSpeed(),
      });
      if (tail === null) res.end();
      else res.end(tail);
      return;
    }
    const chunks = this.#chunks;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#size);
    const shaping = this.#input.shaping;
    if (status >= 400) {
      this.#fail(backendError(status, body, shaping.modelId));
      return;
    }
    const tap = this.#input.tap;
    if (tap !== undefined && status < 300) tap(body);
    const shaped = this.#contentType.includes("json")
      ? shapeJson(body, shaping)
      : { body, usage: null, speed: null, prefill: null };
    this.#finish({
      kind: "completed",
      status,
      firstByteAt: this.#firstByteAt,
      usage: shaped.usage,
      tokensPerSecond: shaped.speed,
      prefillPerSecond: shaped.prefill,
    });
    // Headers as a flat array: Node takes it as is, without walking an object's keys.
    res.writeHead(
      status,
      this.#passContentType
        ? ["content-type", this.#contentType, "content-length", String(shaped.body.length)]
        : ["content-length", String(shaped.body.length)],
    );
    res.end(shaped.body);
  }

  onResponseError(_c: Dispatcher.DispatchController, error: Error): void {
    if (this.#settled) return;
    const { client, shaping } = this.#input;
    const gone = isAbort(error) || client.leftWith !== null;
    const status = this.#status;
    const firstByteAt = this.#firstByteAt;
    if (!this.#started) {
      if (gone) {
        this.#finish({ kind: "client-gone", status: 499, firstByteAt: null, usage: null });
        return;
      }
      // A pooled keep-alive connection that llama-server closed as we reused it fails before
      // any response byte: llama-server never saw the request, so one retry on a fresh
      // connection is safe (the retry rule in docs/architecture.md).
      if (this.#attempt === 1 && isRetryable(error)) {
        this.send();
        return;
      }
      this.#fail(upstreamError(error, shaping.modelId));
      return;
    }
    const rewriter = this.#rewriter;
    if (rewriter === null) {
      if (gone) {
        this.#finish({ kind: "client-gone", status, firstByteAt, usage: null });
        return;
      }
      this.#fail(upstreamError(error, shaping.modelId));
      return;
    }
    if (gone || this.#res.destroyed) {
      this.#finish({ kind: "client-gone", status, firstByteAt, usage: this.#usage() });
      return;
    }
    const failure = upstreamError(error, shaping.modelId);
    this.#finish({ kind: "broken", status, firstByteAt, usage: this.#usage(), error: failure });
    this.#res.end(rewriter.failureEvent(failure));
  }
}
