import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Json, postJson, readRecord } from "../fixtures/fake/client.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { stopClean } from "../support/stop-clean.js";

/**
 * Issue 17's hostile inputs through the real gateway and the fake llama-server: a body nested
 * 100,000 deep never reaches the backend, a backend answer of hundreds of MB leaves the
 * gateway's memory bounded, and the rate limits count the work a request asks for (prompts ×
 * n × max_tokens), for chunked bodies as for Content-Length ones.
 */

const MiB = 1024 * 1024;

function rssBytes(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(line?.[1] ?? 0) * 1024;
}

/** The largest RSS of `pid` while `work` runs, sampled every 10 ms. */
async function peakRss<T>(pid: number, work: () => Promise<T>): Promise<{ peak: number; result: T }> {
  let peak = rssBytes(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid));
  }, 10);
  try {
    const result = await work();
    return { peak: Math.max(peak, rssBytes(pid)), result };
  } finally {
    clearInterval(timer);
  }
}

/** POSTs `body` without Content-Length: Node sends it chunked. Resolves with the status. */
function postChunked(base: string, path: string, body: string, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    // Two writes: the body is chunked and arrives in pieces.
    req.write(body.slice(0, 10));
    req.end(body.slice(10));
  });
}

describe("hostile input cannot hurt the backend, the gateway or other users", () => {
  const record = join(mkdtempSync(join(tmpdir(), "llamawrapper-hostile-")), "fake.jsonl");
  let gateway: RunningGateway;

  before(async () => {
    gateway = await startGateway({
      scheduler: { maxLoadedModels: 8 },
      rateLimit: { burst: 20 },
      auth: {
        apiKeys: [
          "open-key",
          { name: "by-length", key: "key-length", rateLimit: { tokensPerMinute: 1000 } },
          { name: "by-chunks", key: "key-chunks", rateLimit: { tokensPerMinute: 1000 } },
          { name: "batch", key: "key-batch", rateLimit: { requestsPerMinute: 60, burst: 10 } },
        ],
      },
      models: {
        fake: { cmd: fakeCmd("--fake-record", record) },
        // Each answer takes about a second: concurrent requests are all in flight at once.
        slow: { cmd: fakeCmd("--fake-tokens", "4", "--fake-token-delay-ms", "250") },
        "huge-error": { cmd: fakeCmd("--fake-huge-answer-mib", "400", "--fake-status", "400") },
        "huge-answer": { cmd: fakeCmd("--fake-huge-answer-mib", "400") },
      },
    });
  });

  after(async () => {
    await stopClean(gateway);
  });

  const auth = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
  const seen = () => readRecord(record).filter((e) => e.event === "request").length;

  test("tools nested 100,000 deep get a 400 naming tools, and llama-server never sees them", async () => {
    const before = seen();
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`;
    for (const extra of ["", ',"stream":true,"stream_options":{"include_usage":false}']) {
      const body = `{"model":"fake","messages":[{"role":"user","content":"hi"}],"tools":${deep}${extra}}`;
      const res = await fetch(`${gateway.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer open-key" },
        body,
      });
      assert.equal(res.status, 400, extra);
      const { error } = (await res.json()) as Json;
      assert.equal(error.code, "request_limit_exceeded");
      assert.equal(error.param, "tools");
      assert.match(error.message, /deeper than 64 levels/);
    }
    const schema = `{"model":"fake","messages":[],"response_format":{"type":"json_schema","json_schema":{"schema":${deep.replaceAll("[", '{"a":').replaceAll("]", "}")}}}}`;
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer open-key" },
      body: schema,
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as Json).error.param, "response_format");
    assert.equal(seen(), before, "nothing reached llama-server");
    assert.doesNotMatch(gateway.output(), /Maximum call stack/);
  });

  test("n, prompts and tools past their limits get a 400 naming the field", async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["/v1/chat/completions", { messages: [], n: 17 }, "n"],
      ["/v1/completions", { prompt: Array.from({ length: 2049 }, () => "p") }, "prompt"],
      ["/v1/chat/completions", { messages: [], tools: Array.from({ length: 129 }, () => ({})) }, "tools"],
    ];
    for (const [path, body, param] of cases) {
      const res = await postJson(gateway.url, path, { model: "fake", ...body }, auth("open-key"));
      assert.equal(res.status, 400, param);
      const { error } = (await res.json()) as Json;
      assert.deepEqual([error.code, error.param], ["request_limit_exceeded", param]);
    }
  });

  for (const [model, status] of [
    ["huge-error", 400],
    ["huge-answer", 200],
  ] as const) {
    test(`a ${status} answer of 400 MB: a 502 backend_response_too_large, gateway memory bounded`, async () => {
      const pid = gateway.process.pid ?? 0;
      // Loaded first, so that the measurement is of the answers only.
      const warm = await postJson(
        gateway.url,
        "/v1/chat/completions",
        { model, messages: [] },
        auth("open-key"),
      );
      await warm.arrayBuffer();
      const start = rssBytes(pid);
      const { peak, result } = await peakRss(pid, () =>
        Promise.all(
          Array.from({ length: 4 }, async () => {
            const res = await postJson(
              gateway.url,
              "/v1/chat/completions",
              { model, messages: [] },
              auth("open-key"),
            );
            return { status: res.status, body: (await res.json()) as Json };
          }),
        ),
      );
      const growth = (peak - start) / MiB;
      process.stderr.write(
        `# ${model}: gateway RSS ${(start / MiB).toFixed(0)} MiB at start, peak +${growth.toFixed(1)} MiB\n`,
      );
      for (const { status: got, body } of result) {
        assert.equal(got, 502);
        assert.equal(body.error.code, "backend_response_too_large");
        assert.match(body.error.message, /larger than 16777216 bytes/);
      }
      assert.ok(growth < 100, `RSS grew ${growth.toFixed(1)} MiB`);
    });
  }

  test("a chunked body is limited like a Content-Length one: max_tokens counted, 1 of 6 admitted", async () => {
    const body = JSON.stringify({
      model: "slow",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 1000,
    });
    const byLength = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const res = await postJson(gateway.url, "/v1/chat/completions", JSON.parse(body), auth("key-length"));
        await res.arrayBuffer();
        return res.status;
      }),
    );
    const byChunks = await Promise.all(
      Array.from({ length: 6 }, () => postChunked(gateway.url, "/v1/chat/completions", body, "key-chunks")),
    );
    assert.deepEqual(byLength.sort(), [200, 429, 429, 429, 429, 429]);
    assert.deepEqual(byChunks.sort(), [200, 429, 429, 429, 429, 429]);
  });

  test("prompts × n completions count as requests: a batch of 10 prompts with n 4 drains the bucket", async () => {
    const batch = { model: "fake", prompt: Array.from({ length: 10 }, () => "hi"), n: 4, max_tokens: 2 };
    const first = await postJson(gateway.url, "/v1/completions", batch, auth("key-batch"));
    await first.arrayBuffer();
    assert.equal(first.status, 200);
    const next = await postJson(
      gateway.url,
      "/v1/completions",
      { model: "fake", prompt: "hi" },
      auth("key-batch"),
    );
    await next.arrayBuffer();
    assert.equal(next.status, 429);
  });
});
