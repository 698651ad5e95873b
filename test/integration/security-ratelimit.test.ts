import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Json, postJson, readRecord } from "../fixtures/fake/client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { stopClean } from "../support/stop-clean.js";

/**
 * Rate limits in one gateway process (the in-memory buckets): exact under a burst of
 * simultaneous requests, per client address without keys (a spoofed X-Forwarded-For changes
 * nothing), per key with keys, per-key overrides, and tokens per minute charged from usage.
 */

function chat(gateway: RunningGateway, model: string, headers: Record<string, string> = {}, extra = {}) {
  return postJson(
    gateway.url,
    "/v1/chat/completions",
    { model, messages: [{ role: "user", content: "hi" }], max_tokens: 2, ...extra },
    { headers },
  );
}

describe("without keys: one bucket per client address", () => {
  let gateway: RunningGateway;
  const record = join(mkdtempSync(join(tmpdir(), "llamawrapper-rl-")), "m.jsonl");

  before(async () => {
    gateway = await startGateway({
      rateLimit: { requestsPerMinute: 10, burst: 10 },
      models: { m: { cmd: fakeCmd("--fake-record", record), maxConcurrent: 64 } },
    });
    // Load the model first, so the burst below measures the limiter, not a cold start.
    const warm = await chat(gateway, "m");
    assert.equal(warm.status, 200, "no keys configured: the API is open");
    await warm.arrayBuffer();
  });

  after(() => stopClean(gateway));

  test("50 simultaneous requests against 10/min with burst 10 admit exactly 10 (9 after the warm-up)", async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => chat(gateway, "m")));
    await Promise.all(answers.map((res) => res.arrayBuffer()));
    const statuses = answers.map((res) => res.status);
    assert.equal(statuses.filter((s) => s === 200).length, 9, "the warm-up took one of the 10");
    assert.equal(statuses.filter((s) => s === 429).length, 41);
    const admitted = answers.find((res) => res.status === 200);
    assert.equal(admitted?.headers.get("x-ratelimit-limit"), "10");
    assert.match(admitted?.headers.get("x-ratelimit-remaining") ?? "", /^\d$/);
    const refused = answers.find((res) => res.status === 429);
    assert.ok(refused);
    assert.ok(Number(refused.headers.get("retry-after")) >= 1, "Retry-After in whole seconds");
    assert.equal(refused.headers.get("x-ratelimit-limit"), "10");
    assert.equal(refused.headers.get("x-ratelimit-remaining"), "0");
    assert.ok(Number(refused.headers.get("x-ratelimit-reset")) > 0);
    assert.ok(refused.headers.get("x-request-id"));
  });

  test("a refused request is an OpenAI rate_limit_error and is never sent to the backend", async () => {
    const res = await chat(gateway, "m", { "x-request-id": "limited-1" });
    assert.equal(res.status, 429);
    const body = (await res.json()) as Json;
    assert.equal(body.error.type, "rate_limit_error");
    assert.equal(body.error.code, "rate_limited");
    assert.match(body.error.message, /client address/);
    const atBackend = readRecord(record).filter((e) => e.event === "request").length;
    assert.equal(atBackend, 10, "the 10 admitted requests, none of the refused ones");
  });

  test("a spoofed X-Forwarded-For picks no other bucket (trustProxy is 0)", async () => {
    for (const forwarded of ["203.0.113.7", "198.51.100.1, 203.0.113.8", "::1"]) {
      const res = await chat(gateway, "m", { "x-forwarded-for": forwarded, "x-real-ip": forwarded });
      assert.equal(res.status, 429, forwarded);
      await res.arrayBuffer();
    }
    const line = await waitFor("an access log line with the client address", () =>
      gateway
        .output()
        .split("\n")
        .find((l) => l.includes('"status":429') && l.includes('"client"')),
    );
    assert.equal((JSON.parse(line) as Json).client, "127.0.0.1");
  });

  test("/health is never limited", async () => {
    const res = await fetch(`${gateway.url}/health`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
  });
});

describe("with keys: one bucket per key; tokens per minute", () => {
  let gateway: RunningGateway;

  before(async () => {
    gateway = await startGateway({
      rateLimit: { requestsPerMinute: 3, burst: 3 },
      auth: {
        apiKeys: [
          { name: "a", key: "sk-rl-a" },
          { name: "b", key: "sk-rl-b" },
          { name: "roomy", key: "sk-rl-roomy", rateLimit: { requestsPerMinute: 6, burst: 6 } },
          { name: "tok", key: "sk-rl-tok", rateLimit: { requestsPerMinute: null, tokensPerMinute: 100 } },
        ],
      },
      models: { m: { cmd: fakeCmd() }, wordy: { cmd: fakeCmd("--fake-tokens", "300") } },
    });
  });

  after(() => stopClean(gateway));

  async function statuses(key: string, n: number, model = "m"): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const res = await chat(gateway, model, { authorization: `Bearer ${key}` });
      out.push(res.status);
      await res.arrayBuffer();
    }
    return out;
  }

  test("a key's own limit; another key from the same address is not affected", async () => {
    assert.deepEqual(await statuses("sk-rl-a", 4), [200, 200, 200, 429]);
    assert.deepEqual(await statuses("sk-rl-b", 1), [200]);
    const res = await chat(gateway, "m", { authorization: "Bearer sk-rl-a" });
    assert.equal(res.status, 429);
    assert.match(((await res.json()) as Json).error.message, /API key/);
  });

  test("a key's rateLimit overrides the default", async () => {
    assert.deepEqual(await statuses("sk-rl-roomy", 7), [200, 200, 200, 200, 200, 200, 429]);
  });

  test("tokens per minute: an answer's real usage is charged, so the next request waits", async () => {
    const key = { authorization: "Bearer sk-rl-tok" };
    const first = await chat(gateway, "wordy", { ...key, "x-request-id": "tok-1" }, { max_tokens: 1_000 });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get("x-ratelimit-limit-tokens"), "100");
    assert.equal(first.headers.get("x-ratelimit-limit"), null, "no request limit for this key");
    const answer = (await first.json()) as Json;
    assert.ok(answer.usage.completion_tokens > 100, "the answer used more than the whole bucket");
    // The usage is charged when the response closes, as the access-log line is written.
    await waitFor("the first request's access log line", () =>
      gateway.output().includes('"requestId":"tok-1"') ? true : undefined,
    );
    const second = await chat(gateway, "wordy", key);
    assert.equal(second.status, 429);
    assert.equal(second.headers.get("x-ratelimit-remaining-tokens"), "0");
    assert.ok(Number(second.headers.get("retry-after")) > 10, "a minute's worth of tokens to refill");
    await second.arrayBuffer();
  });
});
