import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Json } from "../fixtures/fake/client.js";
import { admin, modelStatus } from "../support/admin-client.js";
import { testAssets } from "../support/assets.js";
import { chatTurn, opening, type Turn } from "../support/conversation.js";
import { waitFor } from "../support/deadline.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { stopClean } from "../support/stop-clean.js";

const ADMIN = "sk-admin-affinity-1";

/**
 * Conversation-affine routing on the real llama-server: a model with 2 instances of 2 slots.
 * Three conversations take turns; each next turn must land on the instance and slot of its
 * previous turn (X-Gateway-Route) and find its prompt in llama-server's KV cache (cache_n),
 * where plain round-robin would send every other turn to an instance that never saw it.
 */
describe("conversation-affine routing on the real llama-server", () => {
  let gateway: RunningGateway;

  before(async () => {
    const assets = await testAssets();
    // --cache-ram 0: llama-server's host-memory prompt cache would hide a wrong instance choice
    // only on the same instance; across instances nothing can.
    const args = ["-c", "4096", "-np", "2", "--cache-ram", "0"];
    gateway = await startGateway({
      llamaServer: { binary: assets.llamaServer },
      scheduler: { maxLoadedModels: 2 },
      auth: { adminKeys: [{ name: "ops", key: ADMIN }] },
      cache: { enabled: false },
      models: {
        tiny: { model: assets.tinyModel, args, instances: 2 },
        "tiny-off": { model: assets.tinyModel, args, instances: 2, affinity: false },
      },
    });
    for (const model of ["tiny", "tiny-off"]) {
      const loaded = await admin(gateway, "POST", `/admin/models/${model}/load`, { key: ADMIN });
      assert.equal(loaded.status, 200, JSON.stringify(loaded.body));
      // A load answers once one instance is ready; with only one, conversations would share its
      // slots and replace each other (as they should): the test wants all four slots.
      await waitFor(
        `both instances of ${model} ready`,
        async () => {
          const status = await modelStatus(gateway, model, ADMIN);
          return (status.instances as Json[]).every((i) => i.state === "ready") ? true : undefined;
        },
        60_000,
      );
    }
  });

  after(async () => {
    await stopClean(gateway);
  });

  const turn = (model: string, messages: Json[]): Promise<Turn> => chatTurn(gateway, ADMIN, model, messages);

  /** Three conversations, two turns each, interleaved: a1 b1 c1 a2 b2 c2. */
  async function converse(model: string): Promise<Map<string, Turn[]>> {
    const turns = new Map<string, Turn[]>();
    const histories = new Map<string, Json[]>();
    for (const round of [1, 2]) {
      for (const name of ["a", "b", "c"]) {
        const history = histories.get(name) ?? [];
        const previous = turns.get(name)?.at(-1);
        if (previous !== undefined) history.push({ role: "assistant", content: previous.reply });
        history.push({ role: "user", content: round === 1 ? opening(name, 160) : `and then, ${name}?` });
        histories.set(name, history);
        turns.set(name, [...(turns.get(name) ?? []), await turn(model, history)]);
      }
    }
    return turns;
  }

  test("each conversation's next turn goes where its prompt is cached, and says so", async () => {
    const turns = await converse("tiny");
    for (const [name, [first, second]] of turns) {
      assert.ok(first !== undefined && second !== undefined);
      assert.match(first.route ?? "", /^instance=[01] slot=[01] reason=least-busy$/, `${name}1`);
      const place = /instance=\d slot=\d/.exec(first.route ?? "")?.[0];
      assert.equal(
        second.route,
        `${place} reason=affinity`,
        `${name}2 returns to ${name}1's instance and slot`,
      );
      // The whole first turn (its prompt and the reply) is reused; only the new message is evaluated.
      assert.ok(
        second.cached >= first.promptTokens,
        `${name}2 reused ${second.cached} cached tokens of ${second.promptTokens}; ${name}1 had ${first.promptTokens}`,
      );
    }
    const places = [...turns.values()].map((t) => /instance=\d slot=\d/.exec(t[0]?.route ?? "")?.[0]);
    assert.equal(new Set(places).size, 3, "three conversations, three slots");
    // The same decisions, counted for Prometheus (the loads above were not requests).
    const metrics = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
    const text = await metrics.text();
    assert.match(text, /llamawrapper_route_decisions_total\{model="tiny",reason="affinity"\} 3\n/);
    assert.match(text, /llamawrapper_route_decisions_total\{model="tiny",reason="least-busy"\} 3\n/);
  });

  test("affinity: false is the least-busy round-robin of before: no header, turns alternate instances", async () => {
    const turns = await converse("tiny-off");
    for (const list of turns.values()) for (const t of list) assert.equal(t.route, null);
    const history = await admin(gateway, "GET", "/admin/requests?model=tiny-off&limit=6", { key: ADMIN });
    assert.equal(history.status, 200);
    const instances = (history.body.requests as Json[]).map((r) => r.instance as string).reverse();
    assert.deepEqual(instances, [
      "tiny-off#0",
      "tiny-off#1",
      "tiny-off#0",
      "tiny-off#1",
      "tiny-off#0",
      "tiny-off#1",
    ]);
    // So a2 (on #1) found nothing of a1 (on #0) cached beyond what every prompt shares.
    const [a1, a2] = turns.get("a") ?? [];
    assert.ok(
      a1 !== undefined && a2 !== undefined && a2.cached < a1.promptTokens / 2,
      `a2 cached ${a2?.cached}`,
    );
  });

  test("a client still cannot pick a slot itself", async () => {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ model: "tiny", id_slot: 1, messages: [{ role: "user", content: "hi" }] }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as Json).error.param, "id_slot");
  });
});
