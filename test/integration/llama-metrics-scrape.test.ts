/**
 * scrapeLlamaMetrics against two real llama-server processes started with --metrics and
 * --api-key (not through the gateway): llama.cpp's own series come back labelled per model and
 * instance, a wrong key is refused (llama-server guards /metrics with --api-key), and the merged
 * exposition parses with promtool when it is installed. If llama.cpp renames its metrics or
 * changes its format, this fails before the gateway's /metrics shows an empty section.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { type ScrapeTarget, scrapeLlamaMetrics } from "../../src/metrics/llama-scrape.js";
import { testAssets } from "../support/assets.js";
import { startLlamaServer } from "../support/llama-server-process.js";

const assets = await testAssets();

/** llama-server on the tiny model with --metrics and --api-key; killed when the test ends. */
async function serve(t: test.TestContext, apiKey: string): Promise<number> {
  const server = await startLlamaServer(assets.llamaServer, [
    "-m",
    assets.tinyModel,
    "-c",
    "512",
    "--metrics",
    "--api-key",
    apiKey,
  ]);
  t.after(() => server.kill());
  return server.port;
}

async function complete(port: number, apiKey: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 4, temperature: 0 }),
    signal: AbortSignal.timeout(30_000),
  });
  const body = await res.text();
  assert.equal(res.status, 200, body);
}

/** The value of `name{...model="<model>"...}` in an exposition, or undefined. */
function seriesValue(text: string, name: string, model: string): number | undefined {
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`${name}{`) && l.includes(`model="${model}"`) && !l.includes("exported_model"));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

test("two real llama-servers: their llamacpp:* series merge under one HELP/TYPE, labelled per model", async (t) => {
  const [portA, portB] = await Promise.all([serve(t, "key-a"), serve(t, "key-b")]);
  await Promise.all([complete(portA, "key-a"), complete(portB, "key-b")]);
  const targets: ScrapeTarget[] = [
    { model: "tiny-a", instance: "tiny-a#0", endpoint: { port: portA, apiKey: "key-a" } },
    { model: "tiny-b", instance: "tiny-b#0", endpoint: { port: portB, apiKey: "key-b" } },
  ];
  const started = performance.now();
  const { text, failed } = await scrapeLlamaMetrics(targets, { timeoutMs: 2000 });
  t.diagnostic(`scrape of two llama-servers took ${(performance.now() - started).toFixed(1)} ms`);
  assert.deepEqual(failed, []);
  const lines = text.split("\n");
  const helps = lines.filter((l) => l.startsWith("# HELP llamacpp:prompt_tokens_total "));
  assert.equal(helps.length, 1, text);
  assert.equal(lines.filter((l) => l === "# TYPE llamacpp:prompt_tokens_total counter").length, 1, text);
  for (const model of ["tiny-a", "tiny-b"]) {
    const prompt = seriesValue(text, "llamacpp:prompt_tokens_total", model);
    assert.ok(prompt !== undefined && prompt > 0, `${model}'s prompt tokens in:\n${text}`);
    assert.equal(seriesValue(text, "llamacpp:tokens_predicted_total", model), 4, text);
  }
  const names = new Set(lines.filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.split("{")[0]));
  assert.ok(
    [...names].every((n) => n?.startsWith("llamacpp:")),
    [...names].join(", "),
  );
  const models = new Set([...text.matchAll(/[{,]model="([^"]*)"/g)].map((m) => m[1]));
  assert.deepEqual([...models].sort(), ["tiny-a", "tiny-b"]);

  const promtool = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if ((promtool.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") {
    t.skip(
      "promtool is not installed (Debian package `prometheus`): the rest passed, promtool did not check the text",
    );
    return;
  }
  // Exit 1 is a parse error (a duplicate HELP/TYPE, a bad escape); exit 3 is lint only. The lint
  // that remains is about llama.cpp's own names (the colon, a counter without _total).
  const report = `${promtool.stdout}${promtool.stderr}`;
  assert.ok(promtool.status === 0 || promtool.status === 3, `promtool exited ${promtool.status}:\n${report}`);
  const llamaNaming = /(metric names should not contain ':'|counter metrics should have "_total" suffix)$/;
  const other = report.split("\n").filter((l) => l.trim() !== "" && !llamaNaming.test(l));
  assert.deepEqual(other, [], `promtool found more than llama.cpp's naming:\n${report}`);
});

test("llama-server guards /metrics with --api-key: a wrong key fails the target as status", async (t) => {
  const port = await serve(t, "right");
  const result = await scrapeLlamaMetrics(
    [
      { model: "wrong", instance: "w#0", endpoint: { port, apiKey: "wrong" } },
      { model: "none", instance: "n#0", endpoint: { port, apiKey: "" } },
    ],
    { timeoutMs: 2000 },
  );
  assert.deepEqual(result, {
    text: "",
    failed: [
      { model: "wrong", instance: "w#0", reason: "status" },
      { model: "none", instance: "n#0", reason: "status" },
    ],
  });
});
