import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { postJson, readAll, sseData } from "../fixtures/fake/client.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { stopClean } from "../support/stop-clean.js";

/**
 * A streaming request that waits seconds for its model gets SSE comment lines (which the SDKs
 * ignore) instead of silence; one answered sooner keeps its real status.
 */
let gateway: RunningGateway | undefined;
afterEach(async () => {
  if (gateway !== undefined) await stopClean(gateway);
  gateway = undefined;
});

function chat(g: RunningGateway, model: string, stream: boolean) {
  return postJson(g.url, "/v1/chat/completions", {
    model,
    stream,
    messages: [{ role: "user", content: "hi" }],
  });
}

test("a stream waiting for a slow load gets comment lines, then its answer", async () => {
  gateway = await startGateway({ models: { slow: { cmd: fakeCmd("--fake-load-ms", "4500") } } });
  const res = await chat(gateway, "slow", true);
  assert.equal(res.status, 200);
  const { text, error } = await readAll(res);
  assert.equal(error, undefined);
  assert.match(text, /^: loading model slow \(\d+ s\)\n\n/, "the first bytes are a loading comment");
  const events = sseData(text);
  assert.equal(events.at(-1), "[DONE]");
  assert.ok(
    events.some((e) => e.includes('"delta"')),
    "the answer follows the comments",
  );
});

test("a stream whose model fails after the comments began gets an in-band error and [DONE]; a fast failure keeps its 503", async () => {
  gateway = await startGateway({
    models: {
      dies: {
        cmd: fakeCmd("--fake-load-ms", "20000", "--fake-exit-after-ms", "4500", "--fake-exit-code", "3"),
      },
      fast: { cmd: ["sh", "-c", "exit 3", "sh", "${PORT}"] },
    },
  });
  const res = await chat(gateway, "dies", true);
  assert.equal(res.status, 200);
  const { text } = await readAll(res);
  assert.match(text, /^: loading model dies/);
  const events = sseData(text);
  assert.equal(events.at(-1), "[DONE]");
  assert.match(events.at(-2) ?? "", /model_load_failed/);
  const quick = await chat(gateway, "fast", true);
  assert.equal(quick.status, 503, "a failure before any notice keeps its HTTP status");
  await quick.arrayBuffer();
});
