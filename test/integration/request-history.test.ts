/**
 * The request history (docs/metrics.md, "Request history") through the real CLI: GET
 * /admin/requests lists finished requests newest first with the documented fields, filters by
 * model and status, limits and pages; scrapes, health checks and admin calls are not in it; a
 * bad filter is a 400; with `history.file` the list survives a restart of the gateway.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Json, postJson, sseData } from "../fixtures/fake/client.js";
import { admin } from "../support/admin-client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { stopClean } from "../support/stop-clean.js";

const USER = "sk-user-history-1";
const ADMIN = "sk-admin-history-1";

/** The fields docs/metrics.md lists for an entry (an entry may have more). */
const FIELDS = [
  "requestId",
  "at",
  "method",
  "route",
  "status",
  "durationMs",
  "ttfbMs",
  "queueMs",
  "upstreamMs",
  "model",
  "instance",
  "keyName",
  "usage",
  "tokensPerSecond",
  "cache",
  "errorCode",
  "stream",
].sort();

describe("GET /admin/requests, in memory and across a restart", () => {
  const dir = mkdtempSync(join(tmpdir(), "llamawrapper-history-"));
  const historyFile = join(dir, "history.jsonl");
  const config = {
    auth: { apiKeys: [{ name: "user", key: USER }], adminKeys: [{ name: "ops", key: ADMIN }] },
    // Relative: resolved against the config file's folder (dir).
    history: { size: 50, file: "history.jsonl" },
    models: { m1: { cmd: fakeCmd() }, m2: { cmd: fakeCmd() } },
  };
  let gateway: RunningGateway;
  const sent: Record<string, Json> = {};

  before(async () => {
    gateway = await startGateway(config, { dir });
  });

  after(() => stopClean(gateway));

  async function ask(id: string, model: string, extra: Record<string, unknown> = {}): Promise<Json> {
    const res = await postJson(
      gateway.url,
      "/v1/chat/completions",
      { model, messages: [{ role: "user", content: `history ${id}` }], max_tokens: 3, ...extra },
      { headers: { authorization: `Bearer ${USER}`, "x-request-id": id } },
    );
    const text = await res.text();
    const body = res.headers.get("content-type")?.startsWith("text/event-stream")
      ? (sseData(text)
          .filter((d) => d !== "[DONE]")
          .map((d) => JSON.parse(d) as Json)
          .find((c) => c.usage) ?? {})
      : (JSON.parse(text) as Json);
    const answer = { status: res.status, cache: res.headers.get("x-cache"), body };
    sent[id] = answer;
    return answer;
  }

  /** GET /admin/requests with a query; the list, or the error answer. */
  async function list(query = ""): Promise<Json[]> {
    const { status, body } = await admin(gateway, "GET", `/admin/requests${query}`, { key: ADMIN });
    assert.equal(status, 200, JSON.stringify(body));
    return body.requests as Json[];
  }
  const ids = (entries: Json[]) => entries.map((e) => e.requestId);

  test("lists requests newest first with the documented fields; filters, limit and paging", async () => {
    assert.equal((await ask("h-1", "m1")).status, 200);
    assert.equal((await ask("h-2", "m2")).status, 200);
    assert.equal((await ask("h-3", "no-such-model")).status, 404);
    assert.equal(
      (await ask("h-4", "m1", { stream: true, stream_options: { include_usage: true } })).status,
      200,
    );
    // Operator traffic: counted in metrics, not kept.
    for (const [method, path, key] of [
      ["GET", "/metrics", USER],
      ["GET", "/health", USER],
      ["GET", "/admin/status", ADMIN],
      ["POST", "/admin/models/m2/load", ADMIN],
    ] as const) {
      const res = await fetch(`${gateway.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${key}`, "x-request-id": `op-${path}` },
      });
      assert.equal(res.status, 200, path);
      await res.arrayBuffer();
    }

    // A request is kept once its response closed: wait for the last one (and the operator
    // calls, which come after it, have had their turn by the time the health marker is logged).
    await waitFor("h-4 in the history", async () =>
      (await list()).some((e) => e.requestId === "h-4") ? true : undefined,
    );
    await gateway.loggedOutput();

    const all = await list();
    assert.deepEqual(
      ids(all),
      ["h-4", "h-3", "h-2", "h-1"],
      "newest first; no scrape, health check or admin call",
    );
    for (const entry of all) {
      const missing = FIELDS.filter((field) => !(field in entry));
      assert.deepEqual(missing, [], `${entry.requestId}: documented fields missing`);
    }
    const arrivals = all.map((e) => e.at as number);
    assert.deepEqual(
      arrivals,
      [...arrivals].sort((x, y) => y - x),
      "ordered by arrival, newest first",
    );

    const [h4, h3, h2, h1] = all as [Json, Json, Json, Json];
    assert.equal(h1.method, "POST");
    assert.equal(h1.route, "/v1/chat/completions");
    assert.equal(h1.status, 200);
    assert.equal(h1.model, "m1");
    assert.equal(h2.model, "m2");
    assert.equal(h1.keyName, "user");
    assert.equal(h1.stream, false);
    assert.equal(typeof h1.instance, "string");
    assert.ok(h1.durationMs > 0 && h1.queueMs >= 0 && h1.upstreamMs >= 0, JSON.stringify(h1));
    assert.equal(h1.cache, sent["h-1"]?.cache?.toLowerCase() ?? null, "the X-Cache the client got");
    assert.deepEqual(h1.usage, {
      promptTokens: sent["h-1"]?.body.usage.prompt_tokens,
      completionTokens: sent["h-1"]?.body.usage.completion_tokens,
      cachedTokens: sent["h-1"]?.body.usage.prompt_tokens_details?.cached_tokens ?? 0,
    });
    assert.equal(h3.status, 404);
    assert.equal(h3.model, null, "never the client's text");
    assert.equal(h3.errorCode, "model_not_found");
    assert.equal(h4.stream, true);
    assert.ok(typeof h4.ttfbMs === "number" && h4.ttfbMs <= h4.durationMs, JSON.stringify(h4));
    assert.equal(h4.usage.completionTokens, sent["h-4"]?.body.usage.completion_tokens);

    assert.deepEqual(ids(await list("?model=m1")), ["h-4", "h-1"]);
    assert.deepEqual(ids(await list("?model=no-such-model")), [], "the resolved id, not the name asked");
    assert.deepEqual(ids(await list("?status=4xx")), ["h-3"]);
    assert.deepEqual(ids(await list("?status=404")), ["h-3"]);
    assert.deepEqual(ids(await list("?status=2xx&limit=2")), ["h-4", "h-2"]);
    assert.deepEqual(ids(await list("?limit=1")), ["h-4"]);
    assert.deepEqual(ids(await list("?before=h-4&limit=2")), ["h-3", "h-2"]);
    assert.deepEqual(ids(await list("?before=h-2")), ["h-1"]);
    assert.deepEqual(ids(await list("?model=m1&status=5xx")), []);

    const { body: whole } = await admin(gateway, "GET", "/admin/requests", { key: ADMIN });
    assert.equal(whole.kept, 50, "history.size");
  });

  test("a bad status or limit filter is a 400; the route needs an admin key", async () => {
    for (const query of [
      "?status=ok",
      "?status=2XX",
      "?status=600",
      "?status=20",
      "?limit=0",
      "?limit=abc",
    ]) {
      const { status, body } = await admin(gateway, "GET", `/admin/requests${query}`, { key: ADMIN });
      assert.equal(status, 400, `${query}: ${JSON.stringify(body)}`);
      assert.equal(body.error.type, "invalid_request_error", query);
      assert.equal(body.error.param, query.slice(1, query.indexOf("=")), query);
    }
    const { status } = await admin(gateway, "GET", "/admin/requests", { key: USER });
    assert.equal(status, 403);
  });

  test("with history.file, the list survives a restart (file mode 0600)", async () => {
    const kept = (await list()).filter((e) => e.requestId.startsWith("h-"));
    assert.equal(kept.length, 4);
    await waitFor("four lines in the history file", () => {
      let text = "";
      try {
        text = readFileSync(historyFile, "utf8");
      } catch {
        return undefined;
      }
      return text.split("\n").filter((l) => l.includes('"requestId":"h-')).length === 4 ? true : undefined;
    });
    assert.equal(statSync(historyFile).mode & 0o777, 0o600, "it holds key names: owner only");

    await stopClean(gateway);
    gateway = await startGateway(config, { dir });

    const reloaded = (await list()).filter((e) => e.requestId.startsWith("h-"));
    assert.deepEqual(reloaded, kept, "the same entries, newest first");
    assert.deepEqual(ids(await list("?model=m1")), ["h-4", "h-1"], "filters apply to read-back entries");

    // New requests go on top of the read-back ones.
    assert.equal((await ask("h-5", "m2")).status, 200);
    await waitFor("h-5 in the history", async () =>
      (await list()).some((e) => e.requestId === "h-5") ? true : undefined,
    );
    assert.deepEqual(ids(await list("?status=2xx")), ["h-5", "h-4", "h-2", "h-1"]);
  });
});
