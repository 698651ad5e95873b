import type { ServerResponse } from "node:http";
import { PaceMeter, type PaceVerdict, type ReaderPace, tickOf } from "./reader-pace.js";

/**
 * Bytes of this connection that the kernel has accepted: everything written to the socket but
 * what still waits in its buffer or in the write in progress (a socket's writableLength counts
 * both). Once the kernel's buffers are full, it grows exactly as fast as the client reads.
 */
function bytesTaken(res: ServerResponse): number | null {
  const socket = res.socket;
  if (socket === null) return null;
  return socket.bytesWritten - socket.writableLength;
}

/**
 * A client that stops reading its answer, or reads it at a trickle, must not hold its backend
 * slot for ever. The proxy already stops reading upstream while the client's socket is full (so
 * memory stays bounded by the socket buffers), but then it waits for 'drain' for as long as the
 * client lets it. This watchdog samples the response every tick: while the gateway holds bytes the
 * client has not taken (`writableNeedDrain`), a client that takes nothing for `idleMs`, or less
 * than `minBytesPerSecond` over `windowMs`, is dropped (reader-pace.ts decides which). Destroying
 * the response aborts the request's signal, which cancels the upstream request and frees the slot.
 */
export function watchSlowReader(
  res: ServerResponse,
  pace: ReaderPace,
  onDrop: (verdict: Exclude<PaceVerdict, "ok">) => void,
): void {
  const meter = new PaceMeter(pace);
  let taken = 0;
  const timer = setInterval(() => {
    taken = bytesTaken(res) ?? taken;
    const verdict = meter.sample(performance.now(), taken, res.writableNeedDrain);
    if (verdict === "ok") return;
    clearInterval(timer);
    onDrop(verdict);
    res.destroy(
      new Error(
        verdict === "idle"
          ? "the client stopped reading its response"
          : "the client read its response too slowly",
      ),
    );
  }, tickOf(pace));
  timer.unref();
  res.once("close", () => clearInterval(timer));
}
