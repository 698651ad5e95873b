import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Json, postJson, readAll, readRecord, sseData } from "../fixtures/fake/client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { closedBy, openRaw, type RawConnection, responseOn } from "../support/raw-http.js";
import { stopClean } from "../support/stop-clean.js";

/**
 * Size limits and deadlines through the real gateway and raw sockets (requests no HTTP client
 * would send): 413 before the body is read and while a chunked one is read, 431, 408 for a
 * slowloris client, 504 when llama-server sends nothing, an in-band error when a stream goes
 * silent, a client that stops reading its stream dropped and its upstream request cancelled.
 * maxConnections is in fair-connections.test.ts, minStreamRate in stream-rate.test.ts.
 */

function accessLine(gateway: RunningGateway, requestId: string): Promise<Json> {
  return waitFor(`the access log line of ${requestId}`, () => {
    const line = gateway
      .output()
      .split("\n")
      .find((l) => l.includes(`"requestId":"${requestId}"`) && l.includes('"msg":"request"'));
    return line === undefined ? undefined : (JSON.parse(line) as Json);
  });
}

const CHAT_BODY = JSON.stringify({ model: "fast", messages: [{ role: "user", content: "hi" }] });

describe("limits and deadlines", () => {
  const dir = mkdtempSync(join(tmpdir(), "llamawrapper-limits-"));
  const hangRecord = join(dir, "hang.jsonl");
  const bulkRecord = join(dir, "bulk.jsonl");
  let gateway: RunningGateway;
  const sockets: RawConnection[] = [];

  before(async () => {
    gateway = await startGateway({
      server: {
        bodyLimit: "1KiB",
        maxHeaderSize: "2KiB",
        headersTimeout: "1s",
        requestTimeout: "2s",
        // Far longer than any wait below: only the hang model's own 1 s can answer in time.
        firstByteTimeout: "120s",
        streamIdleTimeout: "1s",
      },
      scheduler: { maxLoadedModels: 4 },
      models: {
        fast: { cmd: fakeCmd() },
        hang: { cmd: fakeCmd("--fake-hang-inference", "--fake-record", hangRecord), firstByteTimeout: "1s" },
        // 5 tokens, 4 s apart: the stream goes silent right after it started.
        silent: { cmd: fakeCmd("--fake-tokens", "5", "--fake-token-delay-ms", "4000") },
        // Far more than any socket buffer holds: a client that does not read stalls it.
        bulk: { cmd: fakeCmd("--fake-tokens", "500000", "--fake-record", bulkRecord) },
      },
    });
  });

  after(async () => {
    for (const connection of sockets) connection.socket.destroy();
    await stopClean(gateway);
  });

  async function raw(): Promise<RawConnection> {
    const connection = await openRaw(gateway.url);
    sockets.push(connection);
    return connection;
  }

  test("a declared Content-Length over bodyLimit gets 413 before a byte of the body is sent", async () => {
    const connection = await raw();
    connection.socket.write(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        "X-Request-ID: too-big-declared\r\nContent-Length: 100000\r\n\r\n",
    );
    const res = await responseOn(connection, "the 413");
    assert.equal(res.status, 413);
    assert.equal(res.headers.connection, "close");
    assert.equal(res.headers["x-request-id"], "too-big-declared");
    assert.equal((JSON.parse(res.body) as Json).error.code, "body_too_large");
    await closedBy(connection, "the gateway to close the connection");
  });

  test("a chunked body is cut with 413 as soon as it passes bodyLimit", async () => {
    const connection = await raw();
    const chunk = "x".repeat(1_500);
    connection.socket.write(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        `Transfer-Encoding: chunked\r\n\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n`,
    );
    // The body never ends: only a limit enforced while reading can answer.
    const res = await responseOn(connection, "the 413");
    assert.equal(res.status, 413);
    assert.equal((JSON.parse(res.body) as Json).error.code, "body_too_large");
    await closedBy(connection, "the gateway to close the connection");
  });

  test("headers over maxHeaderSize get 431 in OpenAI's shape, with a request id and a log line", async () => {
    const connection = await raw();
    connection.socket.write(
      `GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${"a".repeat(4_000)}\r\n\r\n`,
    );
    const res = await responseOn(connection, "the 431");
    assert.equal(res.status, 431);
    assert.equal((JSON.parse(res.body) as Json).error.code, "headers_too_large");
    const requestId = res.headers["x-request-id"] ?? "";
    assert.ok(requestId !== "");
    assert.equal((await accessLine(gateway, requestId)).status, 431);
    await closedBy(connection, "the gateway to close the connection");
  });

  test("slowloris: headers dribbled in, never finished, get 408 at the headers deadline", async () => {
    const connection = await raw();
    connection.socket.write("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    let n = 0;
    const dribble = setInterval(() => {
      if (!connection.closed()) connection.socket.write(`X-Slow-${n++}: a\r\n`);
    }, 100);
    try {
      const res = await responseOn(connection, "the 408", 15_000);
      assert.equal(res.status, 408);
      assert.equal((JSON.parse(res.body) as Json).error.code, "request_timeout");
      await closedBy(connection, "the gateway to close the connection");
    } finally {
      clearInterval(dribble);
    }
  });

  test("a body that trickles in slower than requestTimeout gets 408 too", async () => {
    const connection = await raw();
    connection.socket.write(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        `Content-Length: ${CHAT_BODY.length}\r\n\r\n`,
    );
    let sent = 0;
    const dribble = setInterval(() => {
      if (!connection.closed() && sent < CHAT_BODY.length - 1)
        connection.socket.write(CHAT_BODY.charAt(sent++));
    }, 100);
    try {
      const res = await responseOn(connection, "the 408", 15_000);
      assert.equal(res.status, 408);
    } finally {
      clearInterval(dribble);
    }
  });

  test("no first byte within the model's firstByteTimeout: 504, and the upstream request is cancelled", async () => {
    for (const stream of [false, true]) {
      const res = await postJson(
        gateway.url,
        "/v1/chat/completions",
        { model: "hang", stream, messages: [{ role: "user", content: "hi" }] },
        { signal: AbortSignal.timeout(20_000) },
      );
      assert.equal(res.status, 504, `stream: ${stream}`);
      const body = (await res.json()) as Json;
      assert.equal(body.error.code, "upstream_timeout");
    }
    await waitFor("the backend to see both requests cancelled", () => {
      const closed = readRecord(hangRecord).filter((e) => e.event === "client-closed");
      return closed.length === 2 ? true : undefined;
    });
  });

  test("a stream that goes silent past streamIdleTimeout ends with an in-band error, then [DONE]", async () => {
    const res = await postJson(gateway.url, "/v1/chat/completions", {
      model: "silent",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(res.status, 200);
    const { text, error } = await readAll(res);
    assert.equal(error, undefined);
    const events = sseData(text);
    assert.equal(events.at(-1), "[DONE]");
    const failure = JSON.parse(events.at(-2) ?? "{}") as Json;
    assert.equal(failure.error?.code, "upstream_timeout");
    assert.ok(!text.includes('"finish_reason":"stop"'), "never a fake stop");
  });

  test("a client that never reads its stream is dropped after streamIdleTimeout; the backend sees it leave", async () => {
    const connection = await raw();
    const body = JSON.stringify({ model: "bulk", stream: true, messages: [{ role: "user", content: "hi" }] });
    connection.socket.write(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        `X-Request-ID: never-reads\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    connection.socket.pause(); // read nothing: the socket buffers fill, then the gateway's
    const started = await waitFor(
      "the request at the backend",
      () => readRecord(bulkRecord).find((e) => e.event === "request" && e.requestId === "never-reads"),
      15_000,
    );
    await waitFor(
      "the backend to see the gateway cancel the request",
      () =>
        readRecord(bulkRecord).some((e) => e.id === started.id && e.event === "client-closed")
          ? true
          : undefined,
      15_000,
    );
    await waitFor("the gateway to say it dropped the reader", () =>
      gateway.output().includes("the client stopped reading its response: dropped") ? true : undefined,
    );
    const line = await accessLine(gateway, "never-reads");
    assert.equal(line.status, 499);
  });
});
