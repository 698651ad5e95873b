import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { type Json, postJson } from "../fixtures/fake/client.js";
import { type TestAssets, testAssets } from "../support/assets.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { childGroups, groupMembers } from "../support/process-tree.js";

/**
 * The API surface through the official OpenAI SDK (raw HTTP where the SDK hides details or has
 * no call), against the real llama-server on the tiny model. llama-server answers with the
 * model's id; every answer must show the name the client asked for instead.
 */
describe("the OpenAI SDK against the gateway and the real llama-server", () => {
  let assets: TestAssets;
  let gateway: RunningGateway;
  let client: OpenAI;
  const groups = new Set<number>();

  before(async () => {
    assets = await testAssets();
    gateway = await startGateway({
      llamaServer: { binary: assets.llamaServer },
      scheduler: { maxLoadedModels: 3 },
      models: {
        tiny: {
          model: assets.tinyModel,
          args: ["-c", "1024", "-np", "2"],
          aliases: ["gpt-4o-mini"],
          unlistedAliases: ["hidden-tiny"],
        },
        "tiny-embed": { model: assets.tinyModel, args: ["-c", "512", "--embeddings", "--pooling", "mean"] },
        // The tiny model has no rerank head; llama-server still serves /v1/rerank with
        // --reranking (scores are meaningless, the API path is real).
        "tiny-rank": { model: assets.tinyModel, args: ["-c", "512", "--reranking"] },
      },
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });

  after(async () => {
    for (const pgid of childGroups(gateway.process.pid ?? 0)) groups.add(pgid);
    assert.equal(await gateway.stop(), 0, gateway.output().slice(-3000));
    assert.deepEqual(groupMembers([...groups]), []);
  });

  const messages = [{ role: "user" as const, content: "Say something" }];

  test("models.list: ids and listed aliases with state and context length; unlisted stay hidden", async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.deepEqual(ids, ["tiny", "gpt-4o-mini", "tiny-embed", "tiny-rank"]);
    const alias = (await client.models.retrieve("gpt-4o-mini")) as unknown as Json;
    assert.deepEqual(
      [alias.object, alias.alias_of, alias.context_length, alias.owned_by],
      ["model", "tiny", 1024, "llamawrapper"],
    );
    assert.ok(["unloaded", "loading", "loaded"].includes(alias.state));
    const hidden = (await client.models.retrieve("hidden-tiny")) as unknown as Json;
    assert.equal(hidden.alias_of, "tiny");
    await assert.rejects(client.models.retrieve("nope"), OpenAI.NotFoundError);
  });

  test("chat through an alias: the answer names the alias, is deterministic, and has usage", async () => {
    const ask = () =>
      client.chat.completions.create({ model: "gpt-4o-mini", messages, max_tokens: 8, temperature: 0 });
    const first = await ask();
    assert.equal(first.model, "gpt-4o-mini");
    assert.equal(first.object, "chat.completion");
    assert.match(first.choices[0]?.message.content ?? "", /[a-z]/);
    assert.equal(first.usage?.completion_tokens, 8);
    assert.ok((first.usage?.prompt_tokens ?? 0) > 0);
    assert.equal((await ask()).choices[0]?.message.content, first.choices[0]?.message.content);
  });

  test("a streamed chat names the alias in every chunk; usage only when asked for", async () => {
    const plain = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages,
      max_tokens: 6,
      stream: true,
    });
    const chunks = [];
    for await (const chunk of plain) chunks.push(chunk);
    assert.ok(chunks.length >= 7);
    assert.deepEqual([...new Set(chunks.map((c) => c.model))], ["gpt-4o-mini"]);
    assert.ok(
      chunks.every((c) => !c.usage),
      "no usage chunk the client did not ask for",
    );
    assert.equal(chunks.at(-1)?.choices[0]?.finish_reason, "length");

    const counted = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages,
      max_tokens: 6,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of counted) usage = chunk.usage ?? usage;
    assert.equal(usage?.completion_tokens, 6);
  });

  test("completions and embeddings", async () => {
    const completion = await client.completions.create({
      model: "tiny",
      prompt: "Once upon a time",
      max_tokens: 5,
    });
    assert.equal(completion.model, "tiny");
    assert.match(completion.choices[0]?.text ?? "", /[a-z]/);
    const embeddings = await client.embeddings.create({ model: "tiny-embed", input: ["hello world", "bye"] });
    assert.equal(embeddings.data.length, 2);
    assert.equal(embeddings.data[0]?.embedding.length, 64);
    assert.equal(embeddings.model, "tiny-embed");
  });

  test("responses API through the alias", async () => {
    const response = await client.responses.create({
      model: "gpt-4o-mini",
      input: "Hello",
      max_output_tokens: 4,
    });
    assert.equal(response.model, "gpt-4o-mini");
    assert.match(response.output_text, /[a-z]/);
    assert.equal(response.usage?.output_tokens, 4);
  });

  test("unknown model: NotFoundError; a prompt over the context: context_length_exceeded", async () => {
    await assert.rejects(
      client.chat.completions.create({ model: "nope", messages }),
      (error: unknown) => error instanceof OpenAI.NotFoundError && error.code === "model_not_found",
    );
    const long = "word ".repeat(2000);
    await assert.rejects(
      client.chat.completions.create({
        model: "tiny",
        messages: [{ role: "user", content: long }],
        max_tokens: 1,
      }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.code === "context_length_exceeded",
    );
  });

  test("Anthropic /v1/messages, plain and streamed, names the alias and reports usage", async () => {
    const body = { model: "gpt-4o-mini", max_tokens: 3, messages: [{ role: "user", content: "Hi" }] };
    const res = await postJson(gateway.url, "/v1/messages", body);
    assert.equal(res.status, 200);
    const message = (await res.json()) as Json;
    assert.deepEqual([message.type, message.role, message.model], ["message", "assistant", "gpt-4o-mini"]);
    assert.equal(message.usage.output_tokens, 3);
    const stream = await postJson(gateway.url, "/v1/messages", { ...body, stream: true });
    const text = await stream.text();
    assert.match(text, /^event: message_start\n/);
    // Anthropic events are `event: NAME\ndata: JSON`; the first one is message_start.
    const start = JSON.parse((/^data: (.*)$/m.exec(text) as RegExpExecArray)[1] as string) as Json;
    assert.equal(start.message.model, "gpt-4o-mini");
    assert.match(text, /event: message_stop\n/);
    const count = await postJson(gateway.url, "/v1/messages/count_tokens", body);
    assert.ok(((await count.json()) as Json).input_tokens > 0);
  });

  test("rerank, tokenize/detokenize, and infill on a model without FIM tokens", async () => {
    for (const path of ["/v1/rerank", "/rerank"]) {
      const res = await postJson(gateway.url, path, {
        model: "tiny-rank",
        query: "a",
        documents: ["a", "b c"],
      });
      assert.equal(res.status, 200, path);
      const ranked = (await res.json()) as Json;
      assert.equal(ranked.results.length, 2);
      assert.equal(ranked.model, "tiny-rank");
    }
    const tokens = (
      (await (
        await postJson(gateway.url, "/tokenize", { model: "tiny", content: "hello world" })
      ).json()) as Json
    ).tokens as number[];
    assert.ok(tokens.length >= 2);
    const back = (await (
      await postJson(gateway.url, "/detokenize", { model: "tiny", tokens })
    ).json()) as Json;
    assert.equal(back.content.trim(), "hello world");
    const infill = await postJson(gateway.url, "/infill", {
      model: "tiny",
      input_prefix: "a",
      input_suffix: "b",
    });
    assert.equal(infill.status, 501);
    assert.equal(((await infill.json()) as Json).error.code, "not_supported");
  });
});
