import { Agent, type OutgoingHttpHeaders } from "node:http";

/** The key the client presents to the gateway (its one configured API key; nginx ignores it). */
export const GATEWAY_KEY = "bench-client-key";
/** The key the direct fakes require; nginx adds it for its upstream, the gateway uses its own. */
export const BACKEND_KEY = "bench-backend-key";

/** Where one system serves one backend: a port, and the key that port expects. */
export interface Target {
  readonly port: number;
  readonly key: string;
}

/** A small chat request, as an editor plugin would send it; `model` picks the backend. */
export function chatBody(model: string, stream: boolean, maxTokens: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      model,
      messages: [
        { role: "system", content: "You are a helpful assistant." },
        { role: "user", content: "Write one sentence about foxes." },
      ],
      max_tokens: maxTokens,
      temperature: 0,
      stream,
    }),
  );
}

/**
 * The headers of every request of scenarios 1–4 and 6, the warm-up and the profile run. They
 * all send the same `temperature: 0` body again and again, which the gateway's response cache
 * (on by default) would answer itself after the first time: `Cache-Control: no-cache` makes
 * every one of them reach the backend, so these scenarios keep measuring the proxy, with the
 * cache's work on a miss (key, recording the answer, storing it) included. Scenario 5 sends
 * its own headers (cacheHeaders) and measures the hits. nginx and the fake ignore the header.
 */
export function requestHeaders(target: Target, body: Buffer): OutgoingHttpHeaders {
  return { ...cacheHeaders(target, body), "cache-control": "no-cache" };
}

/** The same headers without Cache-Control: the gateway may answer from its cache. */
export function cacheHeaders(target: Target, body: Buffer): OutgoingHttpHeaders {
  return {
    "content-type": "application/json",
    "content-length": body.length,
    authorization: `Bearer ${target.key}`,
  };
}

/** A keep-alive agent as OpenAI SDKs use one: connections are reused, never capped low. */
export function keepAliveAgent(maxSockets = 1024): Agent {
  return new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}
