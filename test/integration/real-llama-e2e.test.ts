import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type TestAssets, testAssets } from "../support/assets.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { childGroups, groupMembers } from "../support/process-tree.js";

/**
 * The whole path against the real llama-server on the tiny model: lazy load, chat (plain and
 * streamed), completions, embeddings, aliases, listing, errors, and a clean stop.
 */
describe("gateway in front of the real llama-server", () => {
  let assets: TestAssets;
  let gateway: RunningGateway;
  const groups = new Set<number>();

  before(async () => {
    assets = await testAssets();
    gateway = await startGateway({
      llamaServer: { binary: assets.llamaServer },
      scheduler: { maxLoadedModels: 2 },
      models: {
        tiny: { model: assets.tinyModel, args: ["-c", "1024", "-np", "2"], aliases: ["gpt-4o-mini"] },
        "tiny-embed": { model: assets.tinyModel, args: ["-c", "512", "--embeddings", "--pooling", "mean"] },
      },
    });
  });

  after(async () => {
    for (const pgid of childGroups(gateway.process.pid ?? 0)) groups.add(pgid);
    await gateway.stop();
  });

  async function post(path: string, body: unknown): Promise<Response> {
    return fetch(`${gateway.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  }

  test("lists ids and aliases before anything is loaded", async () => {
    const res = await fetch(`${gateway.url}/v1/models`);
    assert.equal(res.status, 200);
    const list = (await res.json()) as {
      object: string;
      data: Array<{ id: string; state: string; alias_of?: string }>;
    };
    assert.equal(list.object, "list");
    assert.deepEqual(
      list.data.map((m) => m.id),
      ["tiny", "gpt-4o-mini", "tiny-embed"],
    );
    assert.equal(list.data.find((m) => m.id === "gpt-4o-mini")?.alias_of, "tiny");
    assert.ok(list.data.every((m) => m.state === "unloaded"));
  });

  test("a chat completion through an alias lazily starts llama-server and answers", async () => {
    const res = await post("/v1/chat/completions", {
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Say something" }],
      max_tokens: 8,
      temperature: 0,
    });
    assert.equal(res.status, 200);
    assert.ok(res.headers.get("x-request-id"));
    const body = (await res.json()) as {
      object: string;
      choices: Array<{ message: { role: string; content: string } }>;
      usage: { completion_tokens: number };
    };
    assert.equal(body.object, "chat.completion");
    assert.equal(body.choices[0]?.message.role, "assistant");
    assert.match(body.choices[0]?.message.content ?? "", /[a-z]/);
    assert.equal(body.usage.completion_tokens, 8);
    const models = (await (await fetch(`${gateway.url}/v1/models`)).json()) as {
      data: Array<{ id: string; state: string }>;
    };
    assert.equal(models.data.find((m) => m.id === "tiny")?.state, "loaded");
  });

  test("a streamed chat completion arrives as SSE chunks ending in [DONE]", async () => {
    const res = await post("/v1/chat/completions", {
      model: "tiny",
      stream: true,
      messages: [{ role: "user", content: "Stream please" }],
      max_tokens: 16,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
    assert.equal(res.headers.get("cache-control"), "no-cache");
    assert.equal(res.headers.get("x-accel-buffering"), "no");
    const events = (await res.text()).split("\n\n").filter((e) => e.startsWith("data: "));
    assert.equal(events.at(-1), "data: [DONE]");
    const chunks = events
      .slice(0, -1)
      .map((e) => JSON.parse(e.slice(6)) as { object: string; choices: unknown[] });
    assert.ok(chunks.length >= 16, `expected a chunk per token, got ${chunks.length}`);
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk"));
  });

  test("a plain completion answers", async () => {
    const res = await post("/v1/completions", { model: "tiny", prompt: "Once upon a time", max_tokens: 5 });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { choices: Array<{ text: string }> };
    assert.match(body.choices[0]?.text ?? "", /[a-z]/);
  });

  test("embeddings come from the embedding model", async () => {
    const res = await post("/v1/embeddings", { model: "tiny-embed", input: ["hello world", "bye"] });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: Array<{ embedding: number[] }> };
    assert.equal(body.data.length, 2);
    assert.equal(body.data[0]?.embedding.length, 64);
  });

  test("an unknown model is a 404 model_not_found", async () => {
    const res = await post("/v1/chat/completions", { model: "nope", messages: [] });
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error: { code: string; param: string; type: string } };
    assert.deepEqual(
      { code: body.error.code, param: body.error.param, type: body.error.type },
      { code: "model_not_found", param: "model", type: "invalid_request_error" },
    );
  });

  test("malformed JSON and wrong types are 400s naming the problem", async () => {
    const bad = await fetch(`${gateway.url}/v1/chat/completions`, { method: "POST", body: "{not json" });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, "invalid_json");
    const wrong = await post("/v1/chat/completions", { model: "tiny", messages: "hi" });
    assert.equal(wrong.status, 400);
    assert.equal(((await wrong.json()) as { error: { param: string } }).error.param, "messages");
  });

  test("gateway health is ok", async () => {
    const res = await fetch(`${gateway.url}/health`);
    assert.deepEqual(await res.json(), { status: "ok" });
  });

  test("stopping the gateway stops every llama-server it started", async () => {
    const children = childGroups(gateway.process.pid ?? 0);
    assert.ok(
      children.length >= 2,
      `both models' llama-servers should be running: ${JSON.stringify(children)}`,
    );
    for (const pgid of children) groups.add(pgid);
    const code = await gateway.stop();
    assert.equal(code, 0, gateway.output().slice(-3000));
    assert.deepEqual(groupMembers([...groups]), []);
  });
});
