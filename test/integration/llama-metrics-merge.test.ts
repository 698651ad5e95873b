/**
 * llama.cpp's own metrics merged into the gateway's /metrics (docs/metrics.md, "llama.cpp's own
 * metrics, merged"), through the real CLI: two models on the real llama-server with
 * `metrics: true` show up in one scrape under one HELP/TYPE per family, labelled with model and
 * instance, with llama-server's own counts; a child whose /metrics hangs costs a scrape the 1 s
 * deadline and no more, and is counted as skipped; a model without `metrics: true` is started
 * without the endpoint and never scraped.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Json, postJson, readRecord } from "../fixtures/fake/client.js";
import { admin } from "../support/admin-client.js";
import { testAssets } from "../support/assets.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { EXPECTED_LINT, promtoolCheck, type Scrape, scrape } from "../support/prometheus-text.js";
import { stopClean } from "../support/stop-clean.js";

const OBSERVED = new URL("../fixtures/observed-llama-server.ts", import.meta.url).pathname;
const observedCmd = () => [
  process.execPath,
  "--import",
  import.meta.resolve("tsx"),
  OBSERVED,
  "--port",
  "${PORT}",
];
/** The scrape's deadline for the children (LLAMA_SCRAPE_TIMEOUT_MS in src/runtime/generation.ts). */
const CHILD_DEADLINE_MS = 1_000;
/** What a scrape may take past that deadline: rendering, and a loaded test machine. */
const MARGIN_MS = 1_500;

async function complete(gateway: RunningGateway, model: string): Promise<Json> {
  const res = await postJson(
    gateway.url,
    "/v1/chat/completions",
    { model, messages: [{ role: "user", content: `metrics for ${model}` }], max_tokens: 3, temperature: 0 },
    { signal: AbortSignal.timeout(30_000) },
  );
  const body = (await res.json()) as Json;
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

/** GET /metrics and how long it took. */
async function timedScrape(gateway: RunningGateway): Promise<{ s: Scrape; ms: number }> {
  const started = performance.now();
  const s = await scrape(gateway, {}, CHILD_DEADLINE_MS + MARGIN_MS + 5_000);
  return { s, ms: performance.now() - started };
}

/** The llamacpp:* series of a scrape as { family: [model, ...] }. */
function llamaModels(s: Scrape): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const key of s.keys((k) => k.startsWith("llamacpp:"))) {
    const name = key.slice(0, key.indexOf("{"));
    const model = /[{,]model="([^"]*)"/.exec(key)?.[1] ?? "(none)";
    out.set(name, [...(out.get(name) ?? []), model].sort());
  }
  return out;
}

describe("llama.cpp's metrics merged into /metrics", () => {
  let gateway: RunningGateway;
  const dir = mkdtempSync(join(tmpdir(), "llamawrapper-merge-"));
  const hungRecord = join(dir, "hung.jsonl");
  const plainRecord = join(dir, "plain.jsonl");

  before(async () => {
    const assets = await testAssets();
    const tiny = { model: assets.tinyModel, args: ["-c", "512"], metrics: true };
    gateway = await startGateway({
      llamaServer: { binary: assets.llamaServer },
      scheduler: { maxLoadedModels: 4 },
      models: {
        a: tiny,
        b: tiny,
        // Answers /health and chat, never /metrics.
        hung: {
          cmd: observedCmd(),
          metrics: true,
          env: { OBSERVED_HANG_METRICS: "1", OBSERVED_HEADERS: hungRecord },
        },
        // Not `metrics: true`: started without the endpoint, never scraped.
        plain: { cmd: observedCmd(), env: { OBSERVED_HEADERS: plainRecord } },
      },
    });
  });

  after(() => stopClean(gateway));

  test("two real llama-servers: one scrape holds both, labelled by model and instance, with their own counts", async (t) => {
    const answers = { a: await complete(gateway, "a"), b: await complete(gateway, "b") };
    const { s, ms } = await timedScrape(gateway);
    t.diagnostic(`scrape with two llama-servers: ${ms.toFixed(0)} ms`);

    const { body: status } = await admin(gateway, "GET", "/admin/status");
    for (const model of ["a", "b"] as const) {
      const instances = ((status.models as Json[]).find((m) => m.id === model)?.instances ?? []) as Json[];
      assert.equal(instances.length, 1, `${model}: one instance`);
      const instance = instances[0]?.name as string;
      const labels = { model, instance };
      const prompt = s.value("llamacpp:prompt_tokens_total", labels);
      assert.ok(
        prompt !== undefined && prompt > 0,
        `llamacpp:prompt_tokens_total${JSON.stringify(labels)}: ${prompt}`,
      );
      // llama-server's own count of what it generated is what its answer reported.
      assert.equal(
        s.value("llamacpp:tokens_predicted_total", labels),
        answers[model].usage.completion_tokens,
        `llamacpp:tokens_predicted_total of ${model}`,
      );
      assert.equal(s.value("llamawrapper_llamacpp_scrape_skipped_total", { model }), undefined);
    }
    // Every llamacpp:* series belongs to a or b (and both have each family).
    for (const [name, models] of llamaModels(s)) assert.deepEqual(models, ["a", "b"], name);
    const lines = s.text.split("\n");
    for (const family of ["llamacpp:prompt_tokens_total", "llamacpp:tokens_predicted_total"]) {
      assert.equal(lines.filter((l) => l.startsWith(`# HELP ${family} `)).length, 1, `one HELP of ${family}`);
      assert.equal(lines.filter((l) => l === `# TYPE ${family} counter`).length, 1, `one TYPE of ${family}`);
    }

    const verdict = promtoolCheck(s.text);
    if (!verdict.ran) {
      t.skip(verdict.reason);
      return;
    }
    assert.ok(
      verdict.status === 0 || verdict.status === 3,
      `promtool exited ${verdict.status}:\n${verdict.report}`,
    );
    const other = verdict.report.split("\n").filter((l) => l.trim() !== "" && !EXPECTED_LINT.test(l));
    assert.deepEqual(other, [], `promtool found more than the expected lint:\n${verdict.report}`);
  });

  test("a child whose /metrics hangs costs the scrape its 1 s deadline, no more, and is counted as skipped", async (t) => {
    await complete(gateway, "a");
    await complete(gateway, "b");
    await complete(gateway, "hung"); // ready: a scrape target from now on
    await complete(gateway, "plain");

    const first = await timedScrape(gateway);
    t.diagnostic(`scrape with a hung child: ${first.ms.toFixed(0)} ms`);
    // It waited for the hung child (it was a target) until the deadline, and answered then.
    assert.ok(first.ms >= CHILD_DEADLINE_MS - 50, `${first.ms} ms: the hung child was not waited for`);
    assert.ok(first.ms < CHILD_DEADLINE_MS + MARGIN_MS, `${first.ms} ms: held past the deadline`);
    // The others are in it; the hung one is not.
    assert.ok(llamaModels(first.s).size > 0, "a and b merged");
    for (const [name, models] of llamaModels(first.s)) assert.deepEqual(models, ["a", "b"], name);

    // The skip is counted once that scrape was rendered: the next one shows it.
    const second = await timedScrape(gateway);
    assert.ok(second.ms < CHILD_DEADLINE_MS + MARGIN_MS, `${second.ms} ms`);
    const skipped = second.s.value("llamawrapper_llamacpp_scrape_skipped_total", { model: "hung" });
    assert.ok(skipped !== undefined && skipped >= 1, `skipped{model="hung"}: ${skipped}`);
    assert.deepEqual(
      second.s.series("llamawrapper_llamacpp_scrape_skipped_total").map((x) => x.labels.model),
      ["hung"],
      "only the hung child was skipped",
    );
    assert.ok(llamaModels(second.s).size > 0, "a and b still merged");
    for (const [name, models] of llamaModels(second.s)) assert.deepEqual(models, ["a", "b"], name);
  });

  test("`metrics: true` starts a cmd: child with LLAMA_ARG_ENDPOINT_METRICS=1; without it, no endpoint, no scrape", async () => {
    await complete(gateway, "hung");
    await complete(gateway, "plain");
    await scrape(gateway, {}, CHILD_DEADLINE_MS + MARGIN_MS + 5_000);

    const hung = readRecord(hungRecord);
    const plain = readRecord(plainRecord);
    assert.ok(hung.length > 0 && plain.length > 0);
    assert.deepEqual([...new Set(hung.map((r) => r.metricsEnv))], ["1"]);
    assert.deepEqual([...new Set(plain.map((r) => r.metricsEnv))], [null]);
    assert.ok(
      hung.some((r) => r.method === "GET" && r.path === "/metrics"),
      "the hung child was asked for its metrics",
    );
    assert.ok(
      plain.every((r) => r.path !== "/metrics"),
      "a model without `metrics: true` is never scraped",
    );
  });

  test("OpenMetrics: llama.cpp's families typed unknown, inside the one exposition before its # EOF", async () => {
    await complete(gateway, "a");
    const res = await fetch(`${gateway.url}/metrics`, {
      headers: { accept: "application/openmetrics-text; version=1.0.0" },
      signal: AbortSignal.timeout(CHILD_DEADLINE_MS + MARGIN_MS + 5_000),
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^application\/openmetrics-text/);
    const text = await res.text();
    const lines = text.split("\n");
    assert.equal(lines.filter((l) => l === "# EOF").length, 1);
    assert.ok(text.endsWith("# EOF\n"), JSON.stringify(text.slice(-120)));
    const llamaTypes = lines.filter((l) => l.startsWith("# TYPE llamacpp:"));
    assert.ok(llamaTypes.length > 0, "llama.cpp's families are in the OpenMetrics answer");
    for (const line of llamaTypes) assert.match(line, / unknown$/);
    assert.match(text, /^llamacpp:prompt_tokens_total\{.*model="a"/m);
    assert.ok(
      lines.findIndex((l) => l.startsWith("llamacpp:")) < lines.indexOf("# EOF"),
      "llama.cpp's series come before # EOF",
    );
  });
});
