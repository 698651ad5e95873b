import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { postJson } from "../fixtures/fake/client.js";
import { pidsOf } from "../support/admin-client.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { stopClean } from "../support/stop-clean.js";

/** A broken model must not hurt a healthy one: requests for it evict nothing once it is parked. */
let gateway: RunningGateway | undefined;
afterEach(async () => {
  if (gateway !== undefined) await stopClean(gateway);
  gateway = undefined;
});

function chat(g: RunningGateway, model: string) {
  return postJson(g.url, "/v1/chat/completions", { model, messages: [{ role: "user", content: "hi" }] });
}

test("with maxLoadedModels 1, requests for a parked model never restart the healthy loaded one", async () => {
  const g = await startGateway({
    // A cool-down longer than the SDKs would wait: they are told not to retry.
    scheduler: { maxLoadedModels: 1, coolDown: "2m" },
    models: {
      good: { cmd: fakeCmd() },
      broken: { cmd: ["sh", "-c", "echo cannot load >&2; exit 3", "sh", "${PORT}"] },
    },
  });
  gateway = g;
  // Park the broken model (5 failed loads), then load the good one.
  for (let i = 0; i < 5; i++) await (await chat(g, "broken")).arrayBuffer();
  assert.equal((await chat(g, "good")).status, 200);
  const [pid] = await pidsOf(g, "good");
  for (let i = 0; i < 8; i++) {
    const res = await chat(g, "broken");
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "model_failed");
    assert.equal(res.headers.get("x-should-retry"), "false");
    assert.equal(
      res.headers.get("retry-after"),
      null,
      "no Retry-After when a retry within it cannot succeed",
    );
  }
  assert.deepEqual(await pidsOf(g, "good"), [pid], "the good model kept its process");
  const output = await g.loggedOutput();
  assert.equal(
    output.split("\n").filter((l) => l.includes('"spawned llama-server"') && l.includes('"good#0"')).length,
    1,
  );
});
