import type { GatewayError } from "../errors/gateway-error.js";
import { backendError } from "./backend-error.js";
import { replaceModelValues } from "./json-bytes.js";
import { ResponsesStream } from "./responses-stream.js";
import type { Shaping } from "./shaping.js";
import { streamFailure } from "./stream-error.js";
import { type Usage, UsageTally } from "./usage.js";

const LF = 0x0a;
const EVENT_END = Buffer.from("\n\n");
const EVENT_END_CRLF = Buffer.from("\r\n\r\n");
/** llama-server's in-stream error for OpenAI-style streams (server-context.cpp format_error). */
const ERROR_EVENT = Buffer.from('data: {"error":');
/** The usage chunk of a chat stream: empty choices, llama-server's key order (server-task.cpp). */
const USAGE_CHUNK = Buffer.from('data: {"choices":[],');
/** The final object of a native (/infill) stream. */
const NATIVE_FINAL = Buffer.from('"stop":true');
/** An "event" that grows past this without ending is not SSE we understand: passed on as is. */
const PENDING_LIMIT = 1 << 20;

/** Where the complete events in `data` end: after the last blank line, 0 when there is none. */
function completeEnd(data: Buffer): number {
  const n = data.length;
  if (n >= 2 && data[n - 1] === LF && data[n - 2] === LF) return n;
  const lf = data.lastIndexOf(EVENT_END);
  if (lf !== -1) return lf + 2;
  const crlf = data.lastIndexOf(EVENT_END_CRLF);
  return crlf === -1 ? 0 : crlf + 4;
}

function eventStart(data: Buffer, at: number): number {
  const before = data.lastIndexOf(EVENT_END, at);
  return before === -1 ? 0 : before + 2;
}

function eventEnd(data: Buffer, at: number): number {
  const after = data.indexOf(EVENT_END, at);
  return after === -1 ? data.length : after + 2;
}

/**
 * Rewrites one SSE stream from llama-server on its way to the client: `model` shows the name
 * the client asked for, usage is counted (and the chunk the gateway asked for is dropped), and
 * an in-stream error is normalized and followed by [DONE]. Works on whole events only: a
 * chunk is written up to the end of its last complete event at once, and only an incomplete
 * tail waits for the next chunk, so no complete event is ever delayed.
 */
export class SseRewriter {
  readonly #shaping: Shaping;
  readonly #nameJson: Buffer;
  readonly #tally: UsageTally;
  /** The Responses API's events are completed to OpenAI's spec (responses-stream.ts). */
  readonly #responses: ResponsesStream | null;
  #pending: Buffer | null = null;
  #failure: GatewayError | null = null;

  constructor(shaping: Shaping) {
    this.#shaping = shaping;
    this.#nameJson = Buffer.from(JSON.stringify(shaping.modelName));
    this.#tally = new UsageTally(shaping.dialect);
    this.#responses =
      shaping.dialect === "responses"
        ? new ResponsesStream({ modelName: shaping.modelName, request: shaping.request, tally: this.#tally })
        : null;
  }

  /** Set once llama-server reported an error in the stream; the output already ends it. */
  get failure(): GatewayError | null {
    return this.#failure;
  }

  /** The in-band event that ends this stream with `failure`, in the client's dialect. */
  failureEvent(failure: GatewayError): string {
    return streamFailure(failure, this.#shaping.dialect, this.#responses?.nextSequence());
  }

  usage(): Usage | null {
    return this.#tally.result();
  }

  /** llama-server's generation speed from the stream's timings; null when it sent none. */
  speed(): number | null {
    return this.#tally.speed();
  }

  /** llama-server's prompt speed from the stream's timings; null when it sent none. */
  prefillSpeed(): number | null {
    return this.#tally.prefillSpeed();
  }

  /** The bytes to write now for this chunk (null: nothing yet). */
  push(chunk: Buffer): Buffer | null {
    if (this.#failure !== null) return null;
    let data = this.#pending === null ? chunk : Buffer.concat([this.#pending, chunk]);
    this.#pending = null;
    const end = completeEnd(data);
    if (end === 0) {
      if (data.length <= PENDING_LIMIT) {
        this.#pending = data;
        return null;
      }
      return data;
    }
    if (end < data.length) {
      this.#pending = data.subarray(end);
      data = data.subarray(0, end);
    }
    return this.#events(data);
  }

  /** What is left when llama-server ended the stream: an unterminated last event, shaped too. */
  end(): Buffer | null {
    const rest = this.#pending;
    this.#pending = null;
    return rest === null || this.#failure !== null ? null : this.#events(rest);
  }

  #events(data: Buffer): Buffer | null {
    const { dialect } = this.#shaping;
    if (dialect === "openai" || dialect === "native" || dialect === "responses") {
      const at = data.indexOf(ERROR_EVENT);
      if (at !== -1) return this.#fail(data, at);
    }
    if (this.#responses !== null) {
      const out = this.#responses.rewrite(data);
      return out.length === 0 ? null : out;
    }
    let out = data;
    if (dialect === "native") this.#nativeUsage(data);
    else if (dialect !== "none") out = this.#usage(data);
    out = replaceModelValues(out, this.#nameJson);
    return out.length === 0 ? null : out;
  }

  #usage(data: Buffer): Buffer {
    const spans = this.#tally.scan(data);
    if (!this.#shaping.stripUsageChunk || spans.length === 0) return data;
    const keep: Buffer[] = [];
    let from = 0;
    for (const span of spans) {
      const start = eventStart(data, span.start);
      if (
        start < from ||
        data.compare(USAGE_CHUNK, 0, USAGE_CHUNK.length, start, start + USAGE_CHUNK.length) !== 0
      )
        continue;
      keep.push(data.subarray(from, start));
      from = eventEnd(data, span.end);
    }
    if (from === 0) return data;
    keep.push(data.subarray(from));
    return Buffer.concat(keep);
  }

  #nativeUsage(data: Buffer): void {
    const at = data.indexOf(NATIVE_FINAL);
    if (at === -1) return;
    const start = eventStart(data, at);
    const json = data.toString("utf8", start, eventEnd(data, at)).replace(/^data: /, "");
    try {
      this.#tally.add(JSON.parse(json) as Record<string, unknown>);
    } catch {
      // Not an object we understand: the request simply has no usage.
    }
  }

  #fail(data: Buffer, at: number): Buffer {
    const before = at === 0 ? null : this.#events(data.subarray(0, at));
    const json = data.subarray(at + "data: ".length, eventEnd(data, at)).toString("utf8");
    let status = 500;
    try {
      const code = (JSON.parse(json) as { error?: { code?: unknown } }).error?.code;
      if (typeof code === "number") status = code;
    } catch {
      // Unparseable: a 500 with whatever text it had.
    }
    const failure = backendError(status, Buffer.from(json), this.#shaping.modelId);
    this.#failure = failure;
    const ending = Buffer.from(this.failureEvent(failure));
    return before === null ? ending : Buffer.concat([before, ending]);
  }
}
