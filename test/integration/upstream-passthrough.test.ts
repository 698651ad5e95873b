import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type TestAssets, testAssets } from "../support/assets.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { childGroups, groupMembers } from "../support/process-tree.js";

const ADMIN = "sk-admin-passthrough-1";
const USER = "sk-user-passthrough-1";

/** /upstream/{model}/... against the real llama-server: admin-only, off by default. */
describe("the /upstream passthrough", () => {
  let assets: TestAssets;
  let gateway: RunningGateway;
  const groups = new Set<number>();

  before(async () => {
    assets = await testAssets();
    gateway = await startGateway({
      server: { upstreamPassthrough: true },
      llamaServer: { binary: assets.llamaServer },
      auth: { apiKeys: [USER], adminKeys: [{ name: "ops", key: ADMIN }] },
      models: { tiny: { model: assets.tinyModel, args: ["-c", "512"], aliases: ["org/tiny"] } },
    });
  });

  after(async () => {
    for (const pgid of childGroups(gateway.process.pid ?? 0)) groups.add(pgid);
    assert.equal(await gateway.stop(), 0);
    assert.deepEqual(groupMembers([...groups]), []);
  });

  const get = (path: string, key: string | null) =>
    fetch(`${gateway.url}${path}`, { headers: key === null ? {} : { authorization: `Bearer ${key}` } });

  test("an admin key reaches llama-server's own endpoints, loading the model on the way", async () => {
    const res = await get("/upstream/tiny/props", ADMIN);
    assert.equal(res.status, 200);
    assert.ok(res.headers.get("x-request-id"));
    const props = (await res.json()) as { model_path?: string; default_generation_settings?: unknown };
    assert.equal(props.model_path, assets.tinyModel);
    const tokenized = await fetch(`${gateway.url}/upstream/org%2Ftiny/tokenize?unused=1`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ content: "hello world" }),
    });
    assert.equal(tokenized.status, 200);
    const body = (await tokenized.json()) as { tokens: number[] };
    assert.ok(Array.isArray(body.tokens) && body.tokens.length > 0);
  });

  test("a user key gets 403 and no key 401; an unknown model 404", async () => {
    const user = await get("/upstream/tiny/props", USER);
    assert.equal(user.status, 403);
    assert.equal(((await user.json()) as { error: { code: string } }).error.code, "forbidden");
    const none = await get("/upstream/tiny/props", null);
    assert.equal(none.status, 401);
    await none.arrayBuffer();
    const unknown = await get("/upstream/nope/props", ADMIN);
    assert.equal(unknown.status, 404);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, "model_not_found");
  });
});

test("without server.upstreamPassthrough the route does not exist, even for an admin", async () => {
  const assets = await testAssets();
  const gateway = await startGateway({
    llamaServer: { binary: assets.llamaServer },
    auth: { adminKeys: [{ name: "ops", key: ADMIN }] },
    models: { tiny: { model: assets.tinyModel } },
  });
  try {
    const res = await fetch(`${gateway.url}/upstream/tiny/props`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "not_found");
  } finally {
    assert.equal(await gateway.stop(), 0);
  }
});
