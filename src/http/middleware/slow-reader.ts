import type { ServerResponse } from "node:http";

/**
 * A client that stops reading its answer must not hold its backend slot forever. The proxy
 * already stops reading upstream while the client's socket is full (so memory stays bounded by
 * the socket buffers), but then it waits for 'drain' for as long as the client lets it. This
 * watchdog drops a response that has wanted to drain for `idleMs` without the client taking a
 * byte; destroying it aborts the request's signal, which cancels the upstream request.
 */
export function watchSlowReader(res: ServerResponse, idleMs: number, onDrop: () => void): void {
  const tickMs = Math.max(10, Math.min(1_000, Math.floor(idleMs / 4)));
  let stalledSince: number | null = null;
  const timer = setInterval(() => {
    if (!res.writableNeedDrain) {
      stalledSince = null;
      return;
    }
    const now = performance.now();
    stalledSince ??= now;
    if (now - stalledSince < idleMs) return;
    clearInterval(timer);
    onDrop();
    res.destroy(new Error("the client stopped reading its response"));
  }, tickMs);
  timer.unref();
  const progressed = () => {
    stalledSince = null;
  };
  res.on("drain", progressed);
  res.once("close", () => {
    clearInterval(timer);
    res.off("drain", progressed);
  });
}
