import type { ServerResponse } from "node:http";
import { openEventStream } from "../send.js";

export interface WaitNoticeTiming {
  /** A request that gets its answer sooner sees nothing (and keeps its real HTTP status). */
  readonly firstAfterMs: number;
  readonly everyMs: number;
}

/** After 3 s, then every 5 s: under the 60 s idle timeout common in proxies, with room to spare. */
export const WAIT_NOTICES: WaitNoticeTiming = { firstAfterMs: 3_000, everyMs: 5_000 };

export interface WaitNotices {
  /** Whether the stream's headers went out (errors must then be written in-band). */
  readonly started: boolean;
  /** No more notices: the answer starts (or failed). */
  stop(): void;
}

/**
 * Keeps a streaming request that waits (in the queue, for a model to load, for its first token)
 * visibly alive: after `firstAfterMs` the SSE headers go out with a comment line saying what it
 * waits for, and another follows every `everyMs` until stop(). SSE comments (`: ...`) are ignored
 * by the OpenAI and Anthropic SDKs, and they keep proxies with idle timeouts from cutting a long
 * load. `describe` is asked each time, so the line says the current state and the wait so far.
 */
export function waitNotices(
  res: ServerResponse,
  describe: (waitedSeconds: number) => string,
  timing: WaitNoticeTiming = WAIT_NOTICES,
): WaitNotices {
  const since = performance.now();
  let started = false;
  let timer: NodeJS.Timeout | null = null;
  const notice = () => {
    if (res.destroyed || res.writableEnded) return;
    if (!started) {
      started = true;
      openEventStream(res);
    }
    const line = describe(Math.round((performance.now() - since) / 1000)).replace(/[\r\n]/g, " ");
    res.write(`: ${line}\n\n`);
    timer = setTimeout(notice, timing.everyMs);
  };
  timer = setTimeout(notice, timing.firstAfterMs);
  return {
    get started() {
      return started;
    },
    stop: () => {
      if (timer !== null) clearTimeout(timer);
      timer = null;
    },
  };
}
