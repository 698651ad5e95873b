import type { RunningGateway } from "./gateway-process.js";

/** llama-server's own counters of the work it did (its Prometheus /metrics), for one model. */
export interface BackendCounters {
  /** llamacpp:tokens_predicted_total: every token it generated, summed over finished requests. */
  readonly predicted: number;
  /** llamacpp:n_decode_total: llama_decode() calls; every request it serves takes at least one. */
  readonly decodes: number;
}

/**
 * What reached llama-server itself, seen from llama-server's side: its /metrics counters, read
 * through the gateway's admin-only passthrough GET /upstream/{model}/metrics (the gateway holds
 * the child's per-instance key; the test does not). Needs `server.upstreamPassthrough: true`
 * and `--metrics` in the model's args, and one instance per model (the counters are the
 * instance's). A cache hit must leave both counters as they were; a request that reached
 * llama-server moves them (a generation by exactly its usage.completion_tokens).
 *
 * llama-server answers /metrics from the same task loop that runs the completions, after the
 * tasks queued before it, so a read made after an answer arrived already counts that answer.
 * The read takes a lease on the model (it waits while every slot is busy) and loads the model
 * when it is not loaded: read the counters while the model is idle.
 */
export async function backendCounters(
  g: RunningGateway,
  model: string,
  adminKey?: string,
): Promise<BackendCounters> {
  const res = await fetch(`${g.url}/upstream/${encodeURIComponent(model)}/metrics`, {
    headers: adminKey === undefined ? {} : { authorization: `Bearer ${adminKey}` },
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /upstream/${model}/metrics: ${res.status} ${text}`);
  const value = (name: string): number => {
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    if (line === undefined) throw new Error(`no ${name} in llama-server's /metrics:\n${text}`);
    return Number(line.slice(name.length + 1));
  };
  return { predicted: value("llamacpp:tokens_predicted_total"), decodes: value("llamacpp:n_decode_total") };
}
