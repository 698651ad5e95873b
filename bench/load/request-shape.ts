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

export function requestHeaders(target: Target, body: Buffer): OutgoingHttpHeaders {
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
