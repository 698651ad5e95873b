import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Json } from "../fixtures/fake/client.js";
import { admin } from "../support/admin-client.js";
import { testAssets } from "../support/assets.js";
import { waitFor } from "../support/deadline.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { stopClean } from "../support/stop-clean.js";

/**
 * What bounds the in-memory response cache, against the real llama-server: one gateway per
 * bound (maxEntries, maxBytes, ttl, maxEntrySize), started together. Answers of the tiny model
 * at max_tokens 8 take about 450 bytes as entries.
 */
describe("the response cache's bounds", () => {
  const gateways: Record<"entries" | "bytes" | "ttl" | "entrySize", RunningGateway> = {} as never;

  before(async () => {
    const assets = await testAssets();
    const start = (cache: Record<string, unknown>) =>
      startGateway({
        llamaServer: { binary: assets.llamaServer },
        cache,
        models: { tiny: { model: assets.tinyModel, args: ["-c", "512", "-np", "1"] } },
      });
    [gateways.entries, gateways.bytes, gateways.ttl, gateways.entrySize] = await Promise.all([
      start({ maxEntries: 2 }),
      start({ maxBytes: 1_000 }),
      start({ ttl: "2s" }),
      start({ maxEntrySize: 100 }),
    ]);
  });

  after(async () => {
    await Promise.all(Object.values(gateways).map((g) => stopClean(g)));
  });

  /** X-Cache of a greedy chat request asking `content`; the answer must be a 200. */
  async function ask(g: RunningGateway, content: string, stream = false): Promise<string | null> {
    const res = await fetch(`${g.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        messages: [{ role: "user", content }],
        max_tokens: 8,
        temperature: 0,
        stream,
      }),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return res.headers.get("x-cache");
  }

  async function stats(g: RunningGateway): Promise<Json> {
    return (await admin(g, "GET", "/admin/status")).body.cache as Json;
  }

  test("maxEntries: past it the least recently used entry goes", async () => {
    const g = gateways.entries;
    assert.equal(await ask(g, "a"), "MISS");
    assert.equal(await ask(g, "b"), "MISS");
    assert.equal(await ask(g, "a"), "HIT", "a is now more recently used than b");
    assert.equal(await ask(g, "c"), "MISS");
    const full = await stats(g);
    assert.equal(full.entries, 2);
    assert.equal(full.evictions, 1);
    assert.equal(await ask(g, "a"), "HIT", "a stayed");
    assert.equal(await ask(g, "b"), "MISS", "b, the least recently used, went");
    assert.equal((await stats(g)).entries, 2);
  });

  test("maxBytes: past it the least recently used entries go", async () => {
    const g = gateways.bytes;
    assert.equal(await ask(g, "one"), "MISS");
    assert.equal(await ask(g, "one"), "HIT", "an entry fits");
    for (const content of ["two", "three", "four"]) assert.equal(await ask(g, content), "MISS");
    const s = await stats(g);
    assert.equal(s.stored, 4);
    assert.ok(s.bytes > 0 && s.bytes <= 1_000, `bytes ${s.bytes}`);
    assert.ok(s.evictions >= 1, `evictions ${s.evictions}`);
    assert.ok(s.entries < 4, `entries ${s.entries}`);
    assert.equal(await ask(g, "one"), "MISS", "the oldest went to make room");
    assert.equal(await ask(g, "four"), "HIT", "the newest stayed");
  });

  test("ttl: an entry is a hit until it expires, then a miss", async () => {
    const g = gateways.ttl;
    assert.equal(await ask(g, "short-lived"), "MISS");
    assert.equal(await ask(g, "short-lived"), "HIT", "right after it was stored");
    // Polls the admin status (no request that could store it again) until the entry aged out.
    await waitFor(
      "the entry to expire",
      async () => {
        const s = await stats(g);
        return s.entries === 0 ? s : undefined;
      },
      10_000,
      50,
    );
    assert.equal((await stats(g)).expirations, 1);
    assert.equal(await ask(g, "short-lived"), "MISS");
    assert.equal(await ask(g, "short-lived"), "HIT", "stored again");
  });

  test("maxEntrySize: a larger answer is never stored, streamed or not", async () => {
    const g = gateways.entrySize;
    assert.equal(await ask(g, "too big"), "MISS");
    assert.equal(await ask(g, "too big"), "MISS");
    const plain = await stats(g);
    assert.equal(plain.stored, 0, "nothing written to the store");
    assert.equal(plain.entries, 0);
    assert.equal(await ask(g, "too big", true), "MISS");
    assert.equal(await ask(g, "too big", true), "MISS");
    const s = await stats(g);
    assert.equal(s.entries, 0);
    assert.equal(s.bytes, 0);
    assert.equal(s.misses, 4);
    assert.equal(s.hits, 0);
    assert.equal(s.stored, 0, "a streamed answer over the size is not counted as stored");
  });
});
