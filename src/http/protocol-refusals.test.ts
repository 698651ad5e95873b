import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { refuseConnect, refuseExpectation } from "./protocol-refusals.js";

let server: Server;
let port = 0;

before(async () => {
  const log = pino({ level: "silent" });
  server = createServer((_req, res) => res.end("ok"));
  server.on("connect", refuseConnect(log));
  server.on("checkExpectation", refuseExpectation(log));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});

after(() => {
  server.close();
});

/** Sends `head` on a fresh socket; resolves with everything the server wrote until it closed. */
function exchange(head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(head));
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    socket.on("close", () => resolve(text));
    socket.on("error", reject);
    socket.setTimeout(5_000, () => reject(new Error(`no close; got: ${text}`)));
  });
}

function bodyOf(text: string): { error: { code: string; type: string; message: string } } {
  return JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
}

test("CONNECT gets a 405 in OpenAI's shape and the connection is closed", async () => {
  const text = await exchange("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  assert.match(text, /^HTTP\/1.1 405 /);
  assert.match(text, /connection: close/i);
  const { error } = bodyOf(text);
  assert.equal(error.code, "method_not_allowed");
  assert.match(error.message, /CONNECT/);
});

test("an unknown Expect gets a 417 in OpenAI's shape, not a bare status line", async () => {
  const text = await exchange(
    "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}",
  );
  assert.match(text, /^HTTP\/1.1 417 /);
  const { error } = bodyOf(text);
  assert.deepEqual([error.code, error.type], ["expectation_failed", "invalid_request_error"]);
  assert.match(error.message, /200-ok/);
});

test("on /v1/messages the 417 is in Anthropic's shape, with a request-id header", async () => {
  const text = await exchange(
    "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}",
  );
  assert.match(text, /^HTTP\/1.1 417 /);
  const id = /^request-id: (.+)\r$/im.exec(text)?.[1];
  assert.ok(id, text);
  assert.match(text, new RegExp(`^x-request-id: ${id}\r$`, "im"));
  const body = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
  assert.deepEqual(body, {
    type: "error",
    error: { type: "invalid_request_error", message: "Expect: 200-ok is not supported (only 100-continue)" },
    request_id: id,
  });
});
