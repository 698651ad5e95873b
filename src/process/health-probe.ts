import { request } from "node:http";

export type ProbeResult = "ok" | "loading" | "down";

/** Where a local child listens: a loopback port, or a Unix socket (child-sockets.ts). */
export type ChildAddress =
  | { readonly port: number; readonly socket: null }
  | { readonly port: null; readonly socket: string };

/**
 * One GET /health against a child. llama-server answers 503 "Loading model" while loading and
 * 200 {"status":"ok"} when ready; a refused connection means its HTTP server is not up yet (or
 * it died). `/v1/models` may answer before the model is ready, so it is never used for readiness.
 */
export function probeHealth(address: ChildAddress, apiKey: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request(
      {
        ...(address.socket === null
          ? { host: "127.0.0.1", port: address.port }
          : { socketPath: address.socket }),
        path: "/health",
        method: "GET",
        agent: false,
        headers: { authorization: `Bearer ${apiKey}` },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status === 200 ? "ok" : status === 503 ? "loading" : "down");
      },
    );
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve("down"));
    req.end();
  });
}
