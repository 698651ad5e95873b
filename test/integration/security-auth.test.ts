import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Json, postJson } from "../fixtures/fake/client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { childGroups, groupMembers } from "../support/process-tree.js";

const PLAIN = "sk-plain-0123456789";
const ALICE = "sk-alice-0123456789";
const GLOB = "sk-glob-0123456789";
const CHAT = "sk-chat-0123456789";
const FILED = "sk-from-a-file-0123456789";
const ADMIN = "sk-admin-0123456789";
const SECRETS = [PLAIN, ALICE, GLOB, CHAT, FILED, ADMIN];

/**
 * API keys through the real gateway: every way to configure and present a key, model and
 * route scopes, admin routes, the one 401 for every kind of bad key, open /health; the log
 * names keys and never shows one.
 */
describe("API keys", () => {
  let gateway: RunningGateway;
  const groups = new Set<number>();

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), "llamawrapper-auth-"));
    writeFileSync(join(dir, "filed.key"), `${FILED}\n`);
    gateway = await startGateway(
      {
        auth: {
          apiKeys: [
            PLAIN,
            { name: "alice", key: ALICE, models: ["small"] },
            { name: "globber", key: GLOB, models: ["gpt-*"] },
            { name: "chatter", key: CHAT, routes: ["/v1/chat/completions"] },
            { name: "filed", keyFile: "filed.key" },
          ],
          adminKeys: [{ name: "ops", key: ADMIN }],
        },
        models: {
          small: { cmd: fakeCmd(), aliases: ["gpt-4o-mini"] },
          big: { cmd: fakeCmd() },
        },
      },
      { dir },
    );
  });

  after(async () => {
    for (const pgid of childGroups(gateway.process.pid ?? 0)) groups.add(pgid);
    assert.equal(await gateway.stop(), 0, gateway.output().slice(-3000));
    assert.deepEqual(groupMembers([...groups]), []);
  });

  const chat = (model: string, headers: Record<string, string>, path = "/v1/chat/completions") =>
    postJson(
      gateway.url,
      path,
      { model, messages: [{ role: "user", content: "hi" }], max_tokens: 2 },
      { headers },
    );
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

  test("missing, malformed and wrong keys get the very same 401 body", async () => {
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: PLAIN },
      { authorization: `Basic ${Buffer.from(`user:${PLAIN}`).toString("base64")}` },
      { authorization: "Bearer" },
      { authorization: `Bearer ${PLAIN}x` },
      { "x-api-key": "wrong" },
    ];
    const bodies = new Set<string>();
    for (const headers of attempts) {
      const res = await chat("small", headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="llamawrapper"');
      assert.ok(res.headers.get("x-request-id"));
      bodies.add(await res.text());
    }
    assert.equal(bodies.size, 1, [...bodies].join("\n"));
    const body = JSON.parse([...bodies][0] ?? "") as Json;
    assert.equal(body.error.type, "authentication_error");
    assert.equal(body.error.code, "invalid_api_key");
  });

  test("Authorization: Bearer and x-api-key both work; so do plain, named and key-file keys", async () => {
    for (const headers of [bearer(PLAIN), { "x-api-key": PLAIN }, bearer(ALICE), { "x-api-key": FILED }]) {
      const res = await chat("small", headers);
      assert.equal(res.status, 200, JSON.stringify(headers));
      await res.arrayBuffer();
    }
  });

  test("model scopes: a model outside the key's ids, aliases or globs answers like an unknown one and is never loaded", async () => {
    // The unknown model's answer, with the name asked in its message: the one thing that may differ.
    const unknownAs = async (name: string, key: string) => {
      const res = await chat("no-such-model", bearer(key));
      assert.equal(res.status, 404);
      return (await res.text()).replace("no-such-model", name);
    };
    for (const key of [ALICE, GLOB]) {
      const refused = await chat("big", bearer(key));
      assert.equal(refused.status, 404);
      const body = await refused.text();
      assert.equal(body, await unknownAs("big", key), "the same bytes as for a name that does not exist");
      assert.equal((JSON.parse(body) as Json).error.code, "model_not_found");
    }
    // An alias of an allowed model is allowed (alice: [small]); a glob on an alias allows the model.
    for (const [key, model] of [
      [ALICE, "gpt-4o-mini"],
      [GLOB, "gpt-4o-mini"],
      [GLOB, "small"],
    ] as const) {
      const res = await chat(model, bearer(key));
      assert.equal(res.status, 200, `${model}`);
      await res.arrayBuffer();
    }
    // /v1/models/{id} and other routes that take a model say the same.
    const lookup = await fetch(`${gateway.url}/v1/models/big`, { headers: bearer(ALICE) });
    assert.equal(lookup.status, 404);
    assert.equal(((await lookup.json()) as Json).error.code, "model_not_found");
    const completion = await postJson(
      gateway.url,
      "/v1/completions",
      { model: "big", prompt: "hi", max_tokens: 2 },
      { headers: bearer(ALICE) },
    );
    assert.equal(completion.status, 404);
    assert.equal(((await completion.json()) as Json).error.code, "model_not_found");
    assert.ok(!gateway.output().includes('"big#0"'), "the refused model was never started");
  });

  test("route scopes: a chat-only key may not call other routes", async () => {
    const ok = await chat("small", bearer(CHAT));
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    const other = await chat("small", bearer(CHAT), "/v1/completions");
    assert.equal(other.status, 403);
    await other.arrayBuffer();
    const models = await fetch(`${gateway.url}/v1/models`, { headers: bearer(CHAT) });
    assert.equal(models.status, 403);
    await models.arrayBuffer();
  });

  test("/health is open; /metrics needs a key unless publicMetrics; /admin needs an admin key", async () => {
    const health = await fetch(`${gateway.url}/health`);
    assert.equal(health.status, 200);
    await health.arrayBuffer();
    const metrics = await fetch(`${gateway.url}/metrics`);
    assert.equal(metrics.status, 401);
    await metrics.arrayBuffer();
    const asUser = await fetch(`${gateway.url}/admin/status`, { headers: bearer(PLAIN) });
    assert.equal(asUser.status, 403);
    await asUser.arrayBuffer();
    const asAdmin = await fetch(`${gateway.url}/admin/status`, { headers: bearer(ADMIN) });
    assert.notEqual(asAdmin.status, 401);
    assert.notEqual(asAdmin.status, 403);
    await asAdmin.arrayBuffer();
    const adminUsesApi = await chat("big", bearer(ADMIN));
    assert.equal(adminUsesApi.status, 200, "an admin key may use every model");
    await adminUsesApi.arrayBuffer();
  });

  test("the access log names the key; no key ever appears in the gateway's output", async () => {
    const res = await chat("small", { ...bearer(ALICE), "x-request-id": "auth-log-1" });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const line = await waitFor("the access log line", () =>
      gateway
        .output()
        .split("\n")
        .find((l) => l.includes('"requestId":"auth-log-1"') && l.includes('"msg":"request"')),
    );
    assert.equal((JSON.parse(line) as Json).key, "alice");
    const output = gateway.output();
    for (const secret of SECRETS) assert.ok(!output.includes(secret), "a key leaked into the output");
  });
});
