import { type Agent, type ClientRequest, type IncomingMessage, request } from "node:http";
import type { Samples } from "../stats/summary.js";
import { requestHeaders, type Target } from "./request-shape.js";

export interface StreamOptions {
  readonly target: Target;
  readonly path: string;
  readonly body: Buffer;
  readonly agent: Agent | false;
  /** The answer every stream must produce, token for token, to count as correct (null: any). */
  readonly expectedContent: string | null;
  readonly timeoutMs: number;
}

/** One stream as the client saw it; times in ms from the moment the request was written. */
export interface StreamResult {
  readonly ok: boolean;
  readonly error: string | null;
  readonly ttfbMs: number | null;
  readonly ttftMs: number | null;
  readonly tokens: number;
  readonly correct: boolean;
  readonly doneMs: number | null;
}

/**
 * Reads one chat stream: the time to the response headers (first byte), to the first content
 * token, and the gap before every later token event (by arrival of the socket read that
 * carried it: events coalesced into one read have a gap of 0, which is what a client sees).
 * Checks that the content is exactly `expectedContent` and that the stream ends with [DONE].
 */
export function readStream(options: StreamOptions, gapsMs: Samples): Promise<StreamResult> {
  return new Promise((resolve) => {
    const headers = { ...requestHeaders(options.target, options.body), accept: "text/event-stream" };
    const t0 = performance.now();
    let ttfbMs: number | null = null;
    let ttftMs: number | null = null;
    let lastTokenAt = 0;
    let tokens = 0;
    let content = "";
    let done = false;
    let settled = false;
    const finish = (error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const correct =
        error === null && done && (options.expectedContent === null || content === options.expectedContent);
      resolve({
        ok: error === null && done,
        error,
        ttfbMs,
        ttftMs,
        tokens,
        correct,
        doneMs: done ? performance.now() - t0 : null,
      });
    };
    const onEvent = (data: string, at: number) => {
      if (data === "[DONE]") {
        done = true;
        return;
      }
      const event = JSON.parse(data) as {
        choices?: Array<{ delta?: { content?: string } }>;
        error?: unknown;
      };
      if (event.error !== undefined) throw new Error(`in-band error: ${data}`);
      const piece = event.choices?.[0]?.delta?.content;
      if (typeof piece !== "string" || piece === "") return;
      if (ttftMs === null) ttftMs = at - t0;
      else gapsMs.push(at - lastTokenAt);
      lastTokenAt = at;
      tokens++;
      content += piece;
    };
    const req = request(
      {
        host: "127.0.0.1",
        port: options.target.port,
        path: options.path,
        method: "POST",
        headers,
        agent: options.agent,
      },
      (res) => {
        ttfbMs = performance.now() - t0;
        if (res.statusCode !== 200) {
          res.resume();
          return finish(`status ${res.statusCode}`);
        }
        readSseBody(req, res, onEvent, finish, () => done);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish(`no end within ${options.timeoutMs} ms`);
    }, options.timeoutMs);
    req.once("error", (error) => finish(error.message));
    req.end(options.body);
  });
}

/** Runs `count` streams, at most `concurrency` at a time; gaps of all of them go to `gapsMs`. */
export async function runStreams(
  options: StreamOptions,
  count: number,
  concurrency: number,
  gapsMs: Samples,
): Promise<StreamResult[]> {
  const results: StreamResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      results.push(await readStream(options, gapsMs));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/**
 * Splits an SSE stream's text into its `data:` payloads as chunks arrive, each with the time its
 * chunk arrived; whatever `onEvent` throws goes to the caller of the returned function.
 */
export function sseParser(onEvent: (data: string, at: number) => void): (chunk: string) => void {
  let buffer = "";
  return (chunk) => {
    const at = performance.now();
    buffer += chunk;
    for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      for (const line of block.split("\n")) if (line.startsWith("data: ")) onEvent(line.slice(6), at);
    }
  };
}

/**
 * Reads an SSE answer's body event by event into `onEvent`; `finish` gets null once it ended
 * after `done()` became true (the [DONE] event was seen), else why it did not.
 */
export function readSseBody(
  req: ClientRequest,
  res: IncomingMessage,
  onEvent: (data: string, at: number) => void,
  finish: (error: string | null) => void,
  done: () => boolean,
): void {
  res.setEncoding("utf8");
  const parse = sseParser(onEvent);
  res.on("data", (chunk: string) => {
    try {
      parse(chunk);
    } catch (error) {
      req.destroy();
      finish((error as Error).message);
    }
  });
  res.once("end", () => finish(done() ? null : "stream ended without [DONE]"));
  res.once("error", (error) => finish(error.message));
}
