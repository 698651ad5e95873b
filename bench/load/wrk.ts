import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { requestHeaders, type Target } from "./request-shape.js";

export interface ClosedLoopOptions {
  readonly target: Target;
  readonly path: string;
  readonly body: Buffer;
  readonly connections: number;
  readonly durationMs: number;
}

/** What a closed-loop run measured; latency percentiles in µs. */
export interface ClosedLoopResult {
  readonly tool: string;
  readonly requestsPerSecond: number;
  readonly requests: number;
  readonly errors: number;
  readonly latencyUs: { p50: number; p90: number; p99: number; max: number };
}

function luaString(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** wrk's Lua hooks: the POST to send, and a JSON line with the numbers at the end. */
function script(options: ClosedLoopOptions): string {
  const headers = Object.entries(requestHeaders(options.target, options.body))
    .filter(([name]) => name !== "content-length")
    .map(([name, value]) => `wrk.headers[${luaString(name)}] = ${luaString(String(value))}`);
  return `wrk.method = "POST"
wrk.body = ${luaString(options.body.toString("utf8"))}
${headers.join("\n")}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('BENCH {"requests":%d,"duration_us":%d,"errors":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;
}

/**
 * Closed loop with wrk (C, event-driven, one thread): each of `connections` keep-alive
 * connections sends its next request when the previous answer is complete. wrk's own CPU use
 * is small, which matters on 2 cores where client, proxy and backend share the machine.
 */
export function runWrk(wrk: string, dir: string, options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const file = join(dir, "wrk-post.lua");
  writeFileSync(file, script(options));
  const seconds = Math.max(1, Math.round(options.durationMs / 1000));
  const args = ["-t1", `-c${options.connections}`, `-d${seconds}s`, "--timeout", "10s", "-s", file];
  args.push(`http://127.0.0.1:${options.target.port}${options.path}`);
  return new Promise((resolve, reject) => {
    execFile(wrk, args, { timeout: (seconds + 30) * 1000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`wrk failed: ${error.message}\n${stderr}`));
      const line = stdout.split("\n").find((l) => l.startsWith("BENCH "));
      if (line === undefined) return reject(new Error(`wrk printed no result:\n${stdout}\n${stderr}`));
      const r = JSON.parse(line.slice("BENCH ".length)) as Record<string, number>;
      const requests = r.requests ?? 0;
      resolve({
        tool: "wrk",
        requests,
        requestsPerSecond: requests / ((r.duration_us ?? 1) / 1e6),
        errors: r.errors ?? 0,
        latencyUs: { p50: r.p50 ?? 0, p90: r.p90 ?? 0, p99: r.p99 ?? 0, max: r.max ?? 0 },
      });
    });
  });
}
