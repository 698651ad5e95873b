import { request } from "node:http";
import { Samples, summarize } from "../stats/summary.js";
import { keepAliveAgent, requestHeaders } from "./request-shape.js";
import type { ClosedLoopOptions, ClosedLoopResult } from "./wrk.js";

/**
 * The fallback when wrk is missing: the same closed loop from Node. It uses far more CPU than
 * wrk for the same rate, so on 2 cores it lowers every system's number; the report says which
 * tool ran.
 */
export async function runNodeClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const agent = keepAliveAgent(options.connections);
  const headers = requestHeaders(options.target, options.body);
  const latencyUs = new Samples();
  let errors = 0;
  const started = performance.now();
  const endAt = started + options.durationMs;

  const one = () =>
    new Promise<void>((resolve) => {
      const at = performance.now();
      const req = request(
        { host: "127.0.0.1", port: options.target.port, path: options.path, method: "POST", headers, agent },
        (res) => {
          res.on("data", () => {});
          res.once("end", () => {
            if (res.statusCode === 200) latencyUs.push((performance.now() - at) * 1000);
            else errors++;
            resolve();
          });
        },
      );
      req.setTimeout(10_000, () => req.destroy());
      req.once("error", () => {
        errors++;
        resolve();
      });
      req.end(options.body);
    });
  const worker = async () => {
    while (performance.now() < endAt) await one();
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  agent.destroy();
  const seconds = (performance.now() - started) / 1000;
  const s = summarize(latencyUs.values());
  return {
    tool: "node closed loop (wrk missing)",
    requests: latencyUs.length,
    requestsPerSecond: latencyUs.length / seconds,
    errors,
    latencyUs: { p50: s.p50, p90: s.p90, p99: s.p99, max: s.max },
  };
}
