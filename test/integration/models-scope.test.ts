import assert from "node:assert/strict";
import { test } from "node:test";
import { fakeCmd } from "../support/fake-cmd.js";
import { startGateway } from "../support/gateway-process.js";

test("GET /v1/models lists, and /v1/models/{id} finds, only the models a scoped key may use", async () => {
  const gateway = await startGateway({
    auth: { apiKeys: ["sk-everything-0001", { name: "scoped", key: "sk-scoped-0001", models: ["gpt-*"] }] },
    models: {
      a: { cmd: fakeCmd(), aliases: ["gpt-a"] },
      b: { cmd: fakeCmd() },
    },
  });
  try {
    const list = async (key: string) => {
      const res = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
      assert.equal(res.status, 200);
      return ((await res.json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
    };
    assert.deepEqual(await list("sk-everything-0001"), ["a", "gpt-a", "b"]);
    // The glob matches an alias of a, so a is usable by both its names; b is out of scope.
    assert.deepEqual(await list("sk-scoped-0001"), ["a", "gpt-a"]);
    const one = (id: string) =>
      fetch(`${gateway.url}/v1/models/${id}`, { headers: { authorization: "Bearer sk-scoped-0001" } });
    assert.equal((await one("gpt-a")).status, 200);
    const hidden = await one("b");
    assert.equal(hidden.status, 404);
    assert.equal(((await hidden.json()) as { error: { code: string } }).error.code, "model_not_found");
  } finally {
    assert.equal(await gateway.stop(), 0);
  }
});
