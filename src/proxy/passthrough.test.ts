import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { test } from "node:test";
import { Agent } from "undici";
import { passthrough } from "./passthrough.js";

/** Collects what passthrough writes to its client. */
function fakeResponse(): { res: ServerResponse; done: Promise<{ status: number; body: string }> } {
  let status = 0;
  const parts: Buffer[] = [];
  let finish: (value: { status: number; body: string }) => void = () => {};
  const done = new Promise<{ status: number; body: string }>((resolve) => {
    finish = resolve;
  });
  const res = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      parts.push(chunk);
      callback();
    },
    final(callback) {
      finish({ status, body: Buffer.concat(parts).toString("utf8") });
      callback();
    },
  }) as unknown as ServerResponse & { writeHead: (s: number) => unknown };
  res.writeHead = (s: number) => {
    status = s;
    return res;
  };
  return { res, done };
}

test("a GET whose pooled connection llama-server closed is sent again on a fresh one", async (t) => {
  let requests = 0;
  // The second request meets a connection that llama-server drops as it arrives, before any
  // byte of an answer: what a keep-alive connection closed under the pool's feet looks like.
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests++;
    if (requests === 2) {
      req.socket.destroy();
      return;
    }
    res.end(`answer ${requests}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ keepAliveTimeout: 60_000 });
  t.after(() => agent.close());
  const input = {
    endpoint: { port, apiKey: "k" },
    modelId: "m",
    path: "/metrics",
    requestId: "r",
    headersTimeoutMs: 5_000,
    idleTimeoutMs: 5_000,
    signal: new AbortController().signal,
  };
  const get = { method: "GET", headers: {} } as IncomingMessage;
  const first = fakeResponse();
  await passthrough(agent, input, get, first.res);
  assert.deepEqual(await first.done, { status: 200, body: "answer 1" });
  const second = fakeResponse();
  await passthrough(agent, input, get, second.res);
  assert.deepEqual(await second.done, { status: 200, body: "answer 3" });
});
