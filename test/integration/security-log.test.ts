import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Json, postJson, readAll, readRecord } from "../fixtures/fake/client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { stopClean } from "../support/stop-clean.js";

const KEY = "sk-log-0123456789";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The access-log lines (JSON, msg "request") the gateway wrote so far. */
function accessLines(gateway: RunningGateway): Json[] {
  return gateway
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{") && line.includes('"msg":"request"'))
    .map((line) => JSON.parse(line) as Json);
}

function accessLine(gateway: RunningGateway, requestId: string): Promise<Json> {
  return waitFor(`the access log line of ${requestId}`, () =>
    accessLines(gateway).find((line) => line.requestId === requestId),
  );
}

/**
 * Request ids and the access log through the real gateway: an id for every request, the
 * client's own when it is sane, on every answer and at llama-server; one JSON line per request
 * with every field, the key's name, client text escaped; and a log sink that fails (/dev/full)
 * takes nothing down.
 */
describe("request ids and the access log", () => {
  const record = join(mkdtempSync(join(tmpdir(), "llamawrapper-log-")), "m.jsonl");
  let gateway: RunningGateway;

  before(async () => {
    gateway = await startGateway({
      auth: { apiKeys: [{ name: "logger", key: KEY }] },
      models: { m: { cmd: fakeCmd("--fake-record", record), aliases: ["gpt-4o-mini"] } },
    });
  });

  after(() => stopClean(gateway));

  const chat = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    postJson(
      gateway.url,
      "/v1/chat/completions",
      { model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], ...body },
      { headers: { authorization: `Bearer ${KEY}`, ...headers } },
    );

  test("a sane X-Request-ID is kept: on the answer, at llama-server, in the log line with every field", async () => {
    const res = await chat({}, { "x-request-id": "client-trace-42", "user-agent": "log-test/1.0" });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-request-id"), "client-trace-42");
    await res.arrayBuffer();
    // The fake records "done" when its response closes, which can come after the gateway has
    // relayed the whole answer: wait for it rather than read the record once.
    const atBackend = await waitFor("the fake's done record", () => {
      const events = readRecord(record).filter((e) => e.requestId === "client-trace-42");
      return events.some((e) => e.event === "done") ? events : undefined;
    });
    assert.deepEqual(
      atBackend.map((e) => e.event),
      ["request", "done"],
    );
    const line = await accessLine(gateway, "client-trace-42");
    assert.equal(typeof line.time, "number");
    assert.equal(line.method, "POST");
    assert.equal(line.route, "/v1/chat/completions");
    assert.equal(line.modelAsked, "gpt-4o-mini");
    assert.equal(line.modelServed, "m");
    assert.equal(line.status, 200);
    assert.equal(typeof line.durationMs, "number");
    assert.equal(typeof line.ttfbMs, "number");
    assert.equal(typeof line.tokensIn, "number");
    assert.equal(line.tokensOut, 8, "the fake's 8 tokens");
    assert.ok("cacheHit" in line);
    assert.equal(line.key, "logger");
    assert.equal(line.client, "127.0.0.1");
    assert.equal(line.userAgent, "log-test/1.0");
    assert.ok(!JSON.stringify(accessLines(gateway)).includes(KEY), "never the key itself");
  });

  test("an id that is not sane is replaced by a fresh one, which reaches llama-server and the log", async () => {
    for (const sent of ["has spaces in it", "x".repeat(200), "semi;colon"]) {
      const res = await chat({}, { "x-request-id": sent });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      const id = res.headers.get("x-request-id") ?? "";
      assert.match(id, UUID, sent);
      await waitFor("the request at the backend", () =>
        readRecord(record).some((e) => e.requestId === id) ? true : undefined,
      );
      assert.equal((await accessLine(gateway, id)).status, 200);
    }
  });

  test("a streamed answer carries the id too, and its log line counts the tokens", async () => {
    const res = await chat(
      { stream: true, stream_options: { include_usage: true } },
      { "x-request-id": "stream-1" },
    );
    assert.equal(res.headers.get("x-request-id"), "stream-1");
    await readAll(res);
    const line = await accessLine(gateway, "stream-1");
    assert.equal(line.status, 200);
    assert.equal(line.tokensOut, 8);
  });

  test("every error answer has an id too, and one log line with its status and code", async () => {
    const cases: Array<{ req: () => Promise<Response>; status: number; code: string }> = [
      {
        req: () => fetch(`${gateway.url}/v1/nope`, { headers: { authorization: `Bearer ${KEY}` } }),
        status: 404,
        code: "not_found",
      },
      { req: () => fetch(`${gateway.url}/v1/models`), status: 401, code: "invalid_api_key" },
      { req: () => chat({ model: "no-such-model" }), status: 404, code: "model_not_found" },
      {
        req: () =>
          fetch(`${gateway.url}/v1/chat/completions`, {
            method: "POST",
            headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
            body: "{not json",
          }),
        status: 400,
        code: "invalid_json",
      },
    ];
    for (const { req, status, code } of cases) {
      const res = await req();
      assert.equal(res.status, status, code);
      await res.arrayBuffer();
      const id = res.headers.get("x-request-id") ?? "";
      assert.match(id, UUID, code);
      const line = await accessLine(gateway, id);
      assert.equal(line.status, status);
      assert.equal(line.error, code);
    }
  });

  test("control characters in client text are escaped: no fake lines, no terminal escapes", async () => {
    const hostile = 'evil\n{"msg":"request","status":200}\r\u001b[2J\u2028\u0000end';
    const res = await chat({ model: hostile }, { "x-request-id": "hostile-1" });
    assert.equal(res.status, 404);
    await res.arrayBuffer();
    const line = await accessLine(gateway, "hostile-1");
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
    assert.doesNotMatch(line.modelAsked, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    assert.match(line.modelAsked, /^evil\\u000a/);
    assert.match(line.modelAsked, /\\u001b\[2J\\u2028\\u0000end$/);
    // The raw output holds no line separator a log viewer could split on either.
    assert.ok(!gateway.output().includes("\u2028"));
    assert.equal(accessLines(gateway).filter((l) => l.requestId === "hostile-1").length, 1);
  });
});

describe("a log sink that fails", () => {
  let gateway: RunningGateway;

  before(async () => {
    gateway = await startGateway({ logging: { file: "/dev/full" }, models: { m: { cmd: fakeCmd() } } });
  });

  after(() => stopClean(gateway));

  test("logging.file: /dev/full (disk full): requests are answered, the gateway warns and stays up", async () => {
    for (let i = 0; i < 20; i++) {
      const res = await postJson(gateway.url, "/v1/chat/completions", {
        model: "m",
        messages: [{ role: "user", content: "hi" }],
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    await waitFor("the warning on stderr", () =>
      /log sink \(\/dev\/full\) is failing/.test(gateway.output()) ? true : undefined,
    );
    assert.equal(gateway.process.exitCode, null, "still running");
    const health = await fetch(`${gateway.url}/health`);
    assert.equal(health.status, 200);
    await health.arrayBuffer();
  });
});
