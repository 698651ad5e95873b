import { request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { Samples } from "../stats/summary.js";
import { keepAliveAgent, requestHeaders, type Target } from "./request-shape.js";

export interface OpenLoopOptions {
  readonly target: Target;
  readonly path: string;
  readonly body: Buffer;
  /** Requests per second, sent on a fixed schedule whatever the answers do (open loop). */
  readonly rate: number;
  readonly durationMs: number;
  /** Sent first at the same rate and not recorded: JIT, connection pool and caches warm up. */
  readonly warmupMs: number;
  /** Upper bound on the whole run; requests still open then count as errors. */
  readonly timeoutMs: number;
}

export interface OpenLoopResult {
  /** µs from writing the request to the last byte of the answer. */
  readonly latencyUs: Samples;
  /** µs from the scheduled send time (corrects coordinated omission: a stall delays the schedule). */
  readonly scheduledLatencyUs: Samples;
  readonly sent: number;
  readonly ok: number;
  readonly errors: number;
  readonly achievedRate: number;
}

/**
 * A fixed-rate load: request i is due at start + i/rate. Node timers fire at 1 ms granularity,
 * so each tick sends whatever is due (at 1000 req/s: one or two per tick, like real arrivals
 * that come in small bursts). Latency is measured per request with hrtime, in µs.
 */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const agent = keepAliveAgent(256);
  const headers = requestHeaders(options.target, options.body);
  const latencyUs = new Samples();
  const scheduledLatencyUs = new Samples();
  const intervalNs = 1e9 / options.rate;
  const total = Math.round((options.rate * (options.warmupMs + options.durationMs)) / 1000);
  const warmup = Math.round((options.rate * options.warmupMs) / 1000);
  let sent = 0;
  let ok = 0;
  let errors = 0;
  let open = 0;
  const start = process.hrtime.bigint();

  const send = (index: number, dueNs: bigint) => {
    open++;
    const at = process.hrtime.bigint();
    const done = (good: boolean) => {
      open--;
      if (index < warmup) return;
      if (!good) {
        errors++;
        return;
      }
      ok++;
      const end = process.hrtime.bigint();
      latencyUs.push(Number(end - at) / 1000);
      scheduledLatencyUs.push(Number(end - dueNs) / 1000);
    };
    const req = request(
      { host: "127.0.0.1", port: options.target.port, path: options.path, method: "POST", headers, agent },
      (res) => {
        const good = res.statusCode === 200;
        res.on("data", () => {});
        res.once("end", () => done(good));
        res.once("error", () => done(false));
      },
    );
    req.once("error", () => done(false));
    req.end(options.body);
  };

  while (sent < total) {
    const now = process.hrtime.bigint();
    while (sent < total) {
      const due = start + BigInt(Math.round(sent * intervalNs));
      if (due > now) break;
      send(sent, due);
      sent++;
    }
    if (sent < total) {
      const nextDue = start + BigInt(Math.round(sent * intervalNs));
      await sleep(Math.max(0, Number(nextDue - process.hrtime.bigint()) / 1e6));
    }
  }
  const deadline = performance.now() + options.timeoutMs;
  while (open > 0 && performance.now() < deadline) await sleep(5);
  errors += open;
  agent.destroy();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { latencyUs, scheduledLatencyUs, sent, ok, errors, achievedRate: sent / seconds };
}
