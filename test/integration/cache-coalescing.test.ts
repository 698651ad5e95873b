import assert from "node:assert/strict";
import { request } from "node:http";
import { after, afterEach, before, describe, test } from "node:test";
import { type Json, sseData } from "../fixtures/fake/client.js";
import { admin } from "../support/admin-client.js";
import { testAssets } from "../support/assets.js";
import { waitFor } from "../support/deadline.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { type BackendCounters, backendCounters } from "../support/llama-metrics.js";
import { stopClean } from "../support/stop-clean.js";

/** Tokens of an answer that takes a while (a tenth of a second and more on the tiny model). */
const LONG = 300;

/** What one client got. */
interface Got {
  readonly status: number;
  /**
   * X-Cache. A stream that waited over 3 s (a loaded machine) was opened by a wait notice
   * (wait-notices.ts) before the cache knew the outcome: it has no X-Cache (`notified`).
   */
  readonly cache: string | null;
  readonly notified: boolean;
  readonly text: string;
  readonly completionTokens: number | null;
}

/**
 * Identical cacheable requests in flight at once reach the real llama-server once: the first
 * leads, the others wait for its answer (coalesced). Counted at llama-server itself (its
 * /metrics, see llama-metrics.ts). The model runs one slot, so requests that did reach it
 * separately would each generate their tokens in full.
 */
describe("identical requests in flight at once", () => {
  let gateway: RunningGateway;

  before(async () => {
    const assets = await testAssets();
    gateway = await startGateway({
      server: { upstreamPassthrough: true },
      llamaServer: { binary: assets.llamaServer },
      models: { tiny: { model: assets.tinyModel, args: ["-c", "2048", "-np", "1", "--metrics"] } },
    });
    await counters(); // loads the model
  });

  /** Slots held by holdTheSlot(), released after each test even when it failed midway. */
  const held: Array<() => void> = [];

  afterEach(() => {
    for (const release of held.splice(0)) release();
  });

  after(async () => {
    await stopClean(gateway);
  });

  const counters = (): Promise<BackendCounters> => backendCounters(gateway, "tiny");

  async function cacheStats(): Promise<Json> {
    return (await admin(gateway, "GET", "/admin/status")).body.cache as Json;
  }

  function send(
    content: string,
    maxTokens: number,
    stream: boolean,
    signal?: AbortSignal,
    requestId?: string,
  ): Promise<Response> {
    return fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(requestId === undefined ? {} : { "x-request-id": requestId }),
      },
      body: JSON.stringify({
        model: "tiny",
        messages: [{ role: "user", content }],
        max_tokens: maxTokens,
        temperature: 0,
        stream,
        ...(stream ? { stream_options: { include_usage: true } } : {}),
      }),
      ...(signal === undefined ? {} : { signal }),
    });
  }

  /** Reads an answer, streamed or not, into its text and completion tokens. */
  async function read(res: Response): Promise<Got> {
    const body = await res.text();
    const base = { status: res.status, cache: res.headers.get("x-cache"), notified: body.startsWith(":") };
    if (!(res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      const json = JSON.parse(body) as Json;
      return {
        ...base,
        text: json.choices?.[0]?.message?.content ?? body,
        completionTokens: json.usage?.completion_tokens ?? null,
      };
    }
    const events = sseData(body);
    assert.equal(events.at(-1), "[DONE]", body.slice(-500));
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Json);
    return {
      ...base,
      text: chunks.map((c) => c.choices[0]?.delta?.content ?? "").join(""),
      completionTokens: chunks.at(-1)?.usage?.completion_tokens ?? null,
    };
  }

  test("20 identical requests at once, streamed and not, reach llama-server once and all get the answer", async () => {
    const statsBefore = await cacheStats();
    const start = await counters();
    const got = await Promise.all(
      Array.from({ length: 20 }, (_, i) => send("coalesce: twenty at once", 64, i % 2 === 1).then(read)),
    );
    const end = await counters();
    assert.deepEqual(
      got.map((g) => g.status),
      Array(20).fill(200),
    );
    const [first] = got as [Got];
    assert.match(first.text, /[a-z]/);
    for (const g of got) {
      assert.equal(g.text, first.text);
      assert.equal(g.completionTokens, 64);
    }
    for (const g of got) assertCache(g, ["HIT", "MISS"]);
    assert.ok(got.filter((g) => g.cache === "MISS").length <= 1, "one went to llama-server");
    assert.equal(end.predicted - start.predicted, 64, "llama-server generated the answer once");
    const stats = await cacheStats();
    assert.equal(stats.misses - statsBefore.misses, 1);
    assert.equal(stats.hits - statsBefore.hits, 19);
    assert.ok(stats.coalesced - statsBefore.coalesced >= 1, `coalesced ${stats.coalesced}`);
    assert.equal(stats.stored - statsBefore.stored, 1);
    assert.equal(stats.waiting, 0);
  });

  test("a waiting client that leaves does not disturb the others: they all get the full answer", async () => {
    const statsBefore = await cacheStats();
    const start = await counters();
    const content = "coalesce: one waiter leaves";
    const release = await holdTheSlot();
    const leader = send(content, 64, false).then(read);
    await waitFor("the leader to queue for the held slot", async () =>
      (await tiny()).queueDepth === 1 ? true : undefined,
    );
    const controllers = Array.from({ length: 5 }, () => new AbortController());
    const waiters = controllers.map((c, i) =>
      send(content, 64, i % 2 === 0, c.signal, `coalesce-waiter-${i}`).then(read, (error: Error) => error),
    );
    await waitFor("five requests waiting for the leader", async () =>
      (await cacheStats()).waiting === 5 ? true : undefined,
    );
    (controllers[0] as AbortController).abort();
    await waitFor("the one that left to stop waiting", async () =>
      (await cacheStats()).waiting === 4 ? true : undefined,
    );
    release();

    const [left, ...stayed] = await Promise.all(waiters);
    assert.ok(left instanceof Error && left.name === "AbortError", String(left));
    const lead = await leader;
    assert.equal(lead.status, 200);
    assertCache(lead, ["MISS"]);
    assert.equal(lead.completionTokens, 64);
    for (const g of stayed as Got[]) {
      assert.equal(g.status, 200);
      assertCache(g, ["HIT"]);
      assert.equal(g.text, lead.text, "the full answer");
      assert.equal(g.completionTokens, 64);
    }
    assert.equal((await counters()).predicted - start.predicted, 64, "llama-server generated it once");
    const stats = await cacheStats();
    assert.equal(stats.coalesced - statsBefore.coalesced, 4);
    assert.equal(stats.hits - statsBefore.hits, 4);
    assert.equal(stats.misses - statsBefore.misses, 1);
    assert.equal(stats.stored - statsBefore.stored, 1);
    assert.equal(stats.waiting, 0);
    const line = (await gateway.loggedOutput())
      .split("\n")
      .find((l) => l.includes('"requestId":"coalesce-waiter-0"') && l.includes('"msg":"request"'));
    assert.match(line ?? "", /"status":499.*"error":"client_closed"/);
  });

  test("when the leading client leaves mid-answer, the waiters go on together and all get the full answer", async () => {
    const statsBefore = await cacheStats();
    const start = await counters();
    const content = "coalesce: the leader leaves";
    const release = await holdTheSlot();
    const controller = new AbortController();
    const leading = send(content, LONG, true, controller.signal);
    await waitFor("the leader to queue for the held slot", async () =>
      (await tiny()).queueDepth === 1 ? true : undefined,
    );
    const waiters = Array.from({ length: 3 }, (_, i) => send(content, LONG, i === 0).then(read));
    await waitFor("three requests waiting for the leader", async () =>
      (await cacheStats()).waiting === 3 ? true : undefined,
    );
    release();
    const leader = await leading;
    const leaderCache = leader.headers.get("x-cache");
    // Read until llama-server's first token arrived, then leave: the answer is under way.
    const reader = (leader.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let seen = "";
    while (!seen.includes('"content":"')) {
      const { value, done } = await reader.read();
      assert.ok(!done, "the leader's stream ended early");
      seen += decoder.decode(value, { stream: true });
    }
    controller.abort();
    assert.equal(leaderCache, seen.startsWith(":") ? null : "MISS");

    const got = await Promise.all(waiters);
    for (const g of got) {
      assert.equal(g.status, 200);
      assert.equal(g.completionTokens, LONG, "the full answer");
      assert.equal(g.text, (got[0] as Got).text);
    }
    for (const g of got) assertCache(g, ["HIT", "MISS"]);
    assert.ok(got.filter((g) => g.cache === "MISS").length <= 1, "one of them led the retry");
    const generated = (await counters()).predicted - start.predicted;
    // The leader's own generation may have run to its end before llama-server saw the client
    // leave (a loaded machine, a fast tiny model): at most two generations, where three waiters
    // that did not share would make at least three.
    assert.ok(
      generated >= LONG && generated <= 2 * LONG,
      `the waiters shared one generation (plus the leader's, partial or whole): ${generated} tokens`,
    );
    const stats = await cacheStats();
    assert.equal(stats.misses - statsBefore.misses, 2, "the leader and the one that led the retry");
    assert.equal(stats.coalesced - statsBefore.coalesced, 2);
    assert.equal(stats.stored - statsBefore.stored, 1, "the retry's answer was stored, not the partial one");
    assert.equal(stats.waiting, 0);
    assert.equal((await send(content, LONG, false).then(read)).cache, "HIT");
  });

  /** X-Cache is one of `expected`, or absent where a wait notice opened the stream first. */
  function assertCache(g: Got, expected: readonly string[]): void {
    if (g.notified) assert.equal(g.cache, null);
    else assert.ok(expected.includes(g.cache ?? ""), `X-Cache ${g.cache}, expected ${expected.join(" or ")}`);
  }

  /** The model's line in GET /admin/status. */
  async function tiny(): Promise<Json> {
    const { body } = await admin(gateway, "GET", "/admin/status");
    return (body.models as Json[]).find((m) => m.id === "tiny") as Json;
  }

  /**
   * Takes the model's only slot (maxConcurrent 1, from -np 1) until the returned function is
   * called, so the next request queues at the gateway for as long as the test needs, whatever
   * the machine's speed: an upload through the admin passthrough that is never finished holds
   * its lease (llama-server waits for the rest of the body). Releasing cuts the upload.
   */
  async function holdTheSlot(): Promise<() => void> {
    const url = new URL(`${gateway.url}/upstream/tiny/tokenize`);
    const upload = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: "POST",
      headers: { "content-type": "application/json", "content-length": "1000" },
    });
    upload.on("error", () => {});
    upload.write('{"content":"');
    const release = () => upload.destroy();
    held.push(release);
    await waitFor("the slot to be held", async () => ((await tiny()).inFlight === 1 ? true : undefined));
    return release;
  }
});
