import type { ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import type { GatewayError } from "../errors/gateway-error.js";
import { replaceModelValues } from "./json-bytes.js";
import type { Shaping } from "./shaping.js";
import { SseRewriter } from "./sse-rewriter.js";
import { streamFailure } from "./stream-error.js";
import { isAbort, upstreamError } from "./upstream-error.js";
import { type Usage, UsageTally } from "./usage.js";

/** How relaying a body ended; `failure` is set when the client got an in-band error or a cut. */
export interface Relayed {
  readonly kind: "completed" | "broken" | "client-gone";
  readonly firstByteAt: number | null;
  readonly usage: Usage | null;
  readonly failure: GatewayError | null;
}

type Body = Dispatcher.ResponseData["body"];

/** Resolves when the client can take more, or false when it went away first. */
function drained(res: ServerResponse): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
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
 * Streams an SSE answer event by event as it arrives (each complete event is written at once;
 * reading pauses while the client's socket is full). A failure after the headers went out ends
 * the stream with an in-band error event; a cut-off last event is dropped, never half-sent.
 */
export async function relaySse(
  body: Body,
  res: ServerResponse,
  shaping: Shaping,
  signal: AbortSignal,
): Promise<Relayed> {
  const rewriter = new SseRewriter(shaping);
  let firstByteAt: number | null = null;
  const outcome = (kind: Relayed["kind"], failure: GatewayError | null = null): Relayed => ({
    kind,
    firstByteAt,
    usage: rewriter.usage(),
    failure,
  });
  try {
    for await (const chunk of body) {
      firstByteAt ??= performance.now();
      const out = rewriter.push(chunk as Buffer);
      if (out !== null && !res.write(out) && !(await drained(res))) {
        body.destroy();
        return outcome("client-gone");
      }
      if (rewriter.failure !== null) {
        body.destroy();
        res.end();
        return outcome("broken", rewriter.failure);
      }
    }
  } catch (error) {
    if (isAbort(error) || signal.aborted || res.destroyed) return outcome("client-gone");
    const failure = upstreamError(error, shaping.modelId);
    res.end(streamFailure(failure, shaping.dialect));
    return outcome("broken", failure);
  }
  const tail = rewriter.end();
  if (tail === null) res.end();
  else res.end(tail);
  return outcome("completed");
}

/** Reads a whole body; llama-server sends a non-streamed answer in one piece when it is done. */
export async function readWhole(body: Body, onFirstByte: () => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size === 0) onFirstByte();
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
}

/**
 * A non-streamed JSON answer: read whole (its length can change when `model` is rewritten),
 * usage taken from it, written with its new length. One native search finds each key; only
 * the native /infill shape is parsed whole.
 */
export function shapeJson(body: Buffer, shaping: Shaping): { body: Buffer; usage: Usage | null } {
  const tally = new UsageTally(shaping.dialect);
  if (shaping.dialect === "native") {
    try {
      const parsed: unknown = JSON.parse(body.toString("utf8"));
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
        tally.add(parsed as Record<string, unknown>);
    } catch {
      // Not JSON: passed on as it is, without usage.
    }
  } else if (shaping.dialect !== "none") {
    tally.scan(body);
  }
  return {
    body: replaceModelValues(body, Buffer.from(JSON.stringify(shaping.modelName))),
    usage: tally.result(),
  };
}
