import { type Agent, type OutgoingHttpHeaders, request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { Samples } from "../stats/summary.js";
import { keepAliveAgent, type Target } from "./request-shape.js";

/** One answer as the client got it, read whole: what a check looks at. */
export interface Exchange {
  readonly status: number;
  /** The X-Cache header (HIT, MISS, BYPASS), or null when there was none. */
  readonly xCache: string | null;
  readonly body: string;
}

/** What one request sends: its body and headers (scenario 5 varies both per request). */
export interface Outgoing {
  readonly body: Buffer;
  readonly headers: OutgoingHttpHeaders;
}

export interface CheckedLoadOptions {
  readonly target: Target;
  readonly path: string;
  /** The request with this index (0 is the first of the warm-up). */
  readonly request: (index: number) => Outgoing;
  /**
   * Judges one answer after its time was taken: null when it is what was expected, otherwise
   * a short label of what was wrong (counted per label).
   */
  readonly check: (answer: Exchange) => string | null;
  /** Requests per second on a fixed schedule (open loop); 0: back to back on one connection. */
  readonly rate: number;
  readonly durationMs: number;
  /** Sent first and not recorded, but checked: JIT, pools and the cache warm up. */
  readonly warmupMs: number;
  /** Upper bound for the requests still open when the schedule ends. */
  readonly timeoutMs: number;
}

export interface CheckedLoadResult {
  /** µs from writing the request to the last byte of the answer, measured requests only. */
  readonly latencyUs: Samples;
  readonly sent: number;
  /** Measured answers with status 200 and nothing wrong. */
  readonly ok: number;
  /** Transport errors, timeouts and non-200 answers (warm-up included). */
  readonly errors: number;
  /** What the checks found wrong, per label, warm-up included. */
  readonly problems: Record<string, number>;
  readonly achievedRate: number;
}

/** Sends one request and reads the whole answer; `us` is the time to its last byte. */
export function exchange(
  target: Target,
  path: string,
  out: Outgoing,
  agent: Agent,
): Promise<{ us: number; answer: Exchange } | { error: string }> {
  return new Promise((resolve) => {
    const at = process.hrtime.bigint();
    const req = request(
      { host: "127.0.0.1", port: target.port, path, method: "POST", headers: out.headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.once("end", () => {
          const us = Number(process.hrtime.bigint() - at) / 1000;
          const header = res.headers["x-cache"];
          resolve({
            us,
            answer: {
              status: res.statusCode ?? 0,
              xCache: typeof header === "string" ? header : null,
              body: Buffer.concat(chunks).toString("utf8"),
            },
          });
        });
        res.once("error", (error) => resolve({ error: error.message }));
      },
    );
    req.once("error", (error) => resolve({ error: error.message }));
    req.end(out.body);
  });
}

/**
 * A load whose every answer is read and checked, unlike open-loop.ts's, which only counts
 * statuses: scenario 5 must know that each "hit" it timed was answered from the cache. With a
 * rate it is an open loop like scenario 1's (request i due at start + i/rate, sent whatever
 * the answers do); with rate 0 each request goes when the previous answer is complete.
 */
export async function runCheckedLoad(options: CheckedLoadOptions): Promise<CheckedLoadResult> {
  const agent = keepAliveAgent(options.rate === 0 ? 1 : 256);
  const latencyUs = new Samples();
  const problems: Record<string, number> = {};
  let sent = 0;
  let ok = 0;
  let errors = 0;
  let open = 0;
  const start = process.hrtime.bigint();
  const startMs = performance.now();
  const endMs = startMs + options.warmupMs + options.durationMs;
  const count = (label: string) => {
    problems[label] = (problems[label] ?? 0) + 1;
  };

  const send = (index: number, measured: () => boolean): Promise<void> => {
    open++;
    return exchange(options.target, options.path, options.request(index), agent).then((result) => {
      open--;
      const recorded = measured();
      if ("error" in result) {
        errors++;
        return;
      }
      const { us, answer } = result;
      if (answer.status !== 200) {
        errors++;
        count(`HTTP ${answer.status}`);
        return;
      }
      const wrong = options.check(answer);
      if (wrong !== null) count(wrong);
      if (!recorded) return;
      latencyUs.push(us);
      if (wrong === null) ok++;
    });
  };

  if (options.rate === 0) {
    const warmupEnd = startMs + options.warmupMs;
    while (performance.now() < endMs) {
      const measured = performance.now() >= warmupEnd;
      await send(sent++, () => measured);
    }
  } else {
    const intervalNs = 1e9 / options.rate;
    const total = Math.round((options.rate * (options.warmupMs + options.durationMs)) / 1000);
    const warmup = Math.round((options.rate * options.warmupMs) / 1000);
    while (sent < total) {
      const now = process.hrtime.bigint();
      while (sent < total) {
        const due = start + BigInt(Math.round(sent * intervalNs));
        if (due > now) break;
        const index = sent++;
        void send(index, () => index >= warmup);
      }
      if (sent < total) {
        const nextDue = start + BigInt(Math.round(sent * intervalNs));
        await sleep(Math.max(0, Number(nextDue - process.hrtime.bigint()) / 1e6));
      }
    }
  }
  const deadline = performance.now() + options.timeoutMs;
  while (open > 0 && performance.now() < deadline) await sleep(5);
  if (open > 0) count(`${open} still open after ${options.timeoutMs} ms`);
  errors += open;
  agent.destroy();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { latencyUs, sent, ok, errors, problems, achievedRate: sent / seconds };
}
