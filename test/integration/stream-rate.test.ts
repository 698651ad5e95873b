import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Json, postJson, readAll, readRecord, sseData } from "../fixtures/fake/client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { openRaw, type RawConnection } from "../support/raw-http.js";
import { stopClean } from "../support/stop-clean.js";

/**
 * Issue 17: "a client reading 200 bytes/s holds a backend slot for ever". Such a client takes a
 * byte now and then, so streamIdleTimeout never fires; server.minStreamRate does: the reader is
 * dropped, its upstream request cancelled, and the request queued behind it on the model's one
 * slot is served. A reader of a slow llama-server is not judged by the server's pace.
 */
describe("minStreamRate", () => {
  const dir = mkdtempSync(join(tmpdir(), "llamawrapper-rate-"));
  const record = join(dir, "bulk.jsonl");
  let gateway: RunningGateway;
  const sockets: RawConnection[] = [];
  const timers: NodeJS.Timeout[] = [];

  before(async () => {
    gateway = await startGateway({
      // The idle deadline is far away: only the rate can cut a reader that takes a trickle.
      server: { minStreamRate: "4KiB", streamRateWindow: "2s", streamIdleTimeout: "300s" },
      models: {
        // Far more than any socket buffer holds, on one slot: a stalled reader holds the model.
        bulk: { cmd: fakeCmd("--fake-tokens", "500000", "--fake-record", record), maxConcurrent: 1 },
        // 30 tokens 100 ms apart: 3 s of a llama-server slower than minStreamRate.
        trickle: { cmd: fakeCmd("--fake-tokens", "30", "--fake-token-delay-ms", "100") },
      },
    });
  });

  after(async () => {
    for (const timer of timers) clearInterval(timer);
    for (const connection of sockets) connection.socket.destroy();
    await stopClean(gateway);
  });

  test("a reader that takes 200 bytes/s is dropped, its upstream cancelled, and the next request served", async () => {
    const connection = await openRaw(gateway.url);
    sockets.push(connection);
    const body = JSON.stringify({ model: "bulk", stream: true, messages: [{ role: "user", content: "hi" }] });
    const startedAt = performance.now();
    connection.socket.write(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        `X-Request-ID: trickle-reader\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    // Paused: the socket reads from the kernel only what is read here, 20 bytes every 100 ms.
    connection.socket.pause();
    timers.push(
      setInterval(() => {
        if (!connection.closed()) connection.socket.read(20);
      }, 100),
    );
    const started = await waitFor(
      "the request at the backend",
      () => readRecord(record).find((e) => e.event === "request" && e.requestId === "trickle-reader"),
      15_000,
    );
    // The model's only slot is taken: this one waits in its queue until the reader is dropped.
    const next = postJson(
      gateway.url,
      "/v1/chat/completions",
      { model: "bulk", max_tokens: 3, messages: [{ role: "user", content: "hi" }] },
      { headers: { "x-request-id": "next-in-line" }, signal: AbortSignal.timeout(30_000) },
    );
    await waitFor(
      "the backend to see the trickle reader's request cancelled",
      () =>
        readRecord(record).some((e) => e.id === started.id && e.event === "client-closed") ? true : undefined,
      20_000,
    );
    const droppedAfterMs = performance.now() - startedAt;
    const answer = await next;
    assert.equal(answer.status, 200);
    assert.equal(((await answer.json()) as Json).choices[0].finish_reason, "length");
    assert.ok(connection.received().length > 0, "the reader did get bytes before it was dropped");
    const output = await gateway.loggedOutput();
    assert.ok(output.includes("the client read its response too slowly: dropped"));
    const line = output
      .split("\n")
      .find((l) => l.includes('"requestId":"trickle-reader"') && l.includes('"msg":"request"'));
    assert.equal((JSON.parse(line ?? "{}") as Json).status, 499);
    // A window of 2 s once the buffers are full: well within the deadline above.
    assert.ok(droppedAfterMs < 20_000, `dropped after ${Math.round(droppedAfterMs)} ms`);
    process.stdout.write(`# trickle reader dropped ${Math.round(droppedAfterMs)} ms after its request\n`);
  });

  test("a reader of a llama-server slower than minStreamRate is not dropped", async () => {
    const res = await postJson(gateway.url, "/v1/chat/completions", {
      model: "trickle",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    assert.equal(res.status, 200);
    const { text, error } = await readAll(res);
    assert.equal(error, undefined);
    const events = sseData(text);
    assert.equal(events.at(-1), "[DONE]");
    assert.ok(text.includes('"finish_reason":"stop"') || text.includes('"finish_reason":"length"'));
  });
});
