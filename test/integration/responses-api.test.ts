import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, streamText } from "ai";
import OpenAI from "openai";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import { type TestAssets, testAssets } from "../support/assets.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { childGroups, groupMembers } from "../support/process-tree.js";

/**
 * The Responses API (POST /v1/responses) through the clients that use it, against the real
 * llama-server on the tiny model. llama-server's own stream lacks sequence numbers, output and
 * content indices, and a response object in response.created: the openai SDK's
 * responses.stream() helper throws on it and the Vercel AI SDK's default OpenAI provider (which
 * speaks the Responses API) ends with finishReason "error". The gateway completes the events.
 */
describe("the Responses API through the openai SDK and the AI SDK, real llama-server", () => {
  let assets: TestAssets;
  let gateway: RunningGateway;
  let client: OpenAI;
  const groups = new Set<number>();

  before(async () => {
    assets = await testAssets();
    gateway = await startGateway({
      llamaServer: { binary: assets.llamaServer },
      models: {
        tiny: { model: assets.tinyModel, args: ["-c", "1024", "-np", "2"], aliases: ["gpt-4o-mini"] },
      },
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });

  after(async () => {
    for (const pgid of childGroups(gateway.process.pid ?? 0)) groups.add(pgid);
    assert.equal(await gateway.stop(), 0, gateway.output().slice(-3000));
    assert.deepEqual(groupMembers([...groups]), []);
  });

  const ask = { model: "gpt-4o-mini", input: "Say something", max_output_tokens: 6, temperature: 0 };

  test("responses.create: the object has every field the spec requires, model as asked", async () => {
    const response = await client.responses.create(ask);
    assert.equal(response.object, "response");
    assert.equal(response.status, "completed");
    assert.equal(response.model, "gpt-4o-mini");
    assert.match(response.id, /^resp_/);
    assert.equal(typeof response.created_at, "number");
    assert.equal(response.error, null);
    assert.equal(response.incomplete_details, null);
    assert.deepEqual(response.tools, []);
    assert.equal(response.tool_choice, "auto");
    assert.equal(response.parallel_tool_calls, true);
    assert.equal(response.instructions, null);
    const message = response.output[0];
    assert.equal(message?.type, "message");
    assert.match(response.output_text, /[a-z]/);
    assert.equal(response.usage?.output_tokens, 6);
    assert.ok((response.usage?.input_tokens ?? 0) > 0);
  });

  test("responses.create: the object echoes the parameters the client sent", async () => {
    const response = await client.responses.create({ ...ask, instructions: "Be brief.", top_p: 0.5 });
    assert.equal(response.instructions, "Be brief.");
    assert.equal(response.temperature, 0);
    assert.equal(response.top_p, 0.5);
    assert.equal(response.max_output_tokens, 6);
  });

  test("responses.create with stream: every event is complete and numbered in order", async () => {
    const stream = await client.responses.create({ ...ask, stream: true });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    assert.deepEqual(
      events.map((event) => event.sequence_number),
      events.map((_, i) => i),
    );
    const types = events.map((event) => event.type);
    assert.deepEqual(types.slice(0, 4), [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
    ]);
    assert.deepEqual(types.slice(-4), [
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const created = events[0];
    assert.equal(created?.type, "response.created");
    if (created?.type === "response.created") {
      assert.equal(created.response.model, "gpt-4o-mini");
      assert.equal(typeof created.response.created_at, "number");
      assert.deepEqual(created.response.output, []);
      assert.equal(created.response.status, "in_progress");
    }
    let text = "";
    for (const event of events) {
      if (event.type !== "response.output_text.delta") continue;
      assert.equal(event.output_index, 0);
      assert.equal(event.content_index, 0);
      text += event.delta;
    }
    const completed = events.at(-1);
    assert.equal(completed?.type, "response.completed");
    if (completed?.type === "response.completed") {
      assert.equal(completed.response.model, "gpt-4o-mini");
      assert.equal(completed.response.id, created?.type === "response.created" ? created.response.id : "");
      assert.equal(
        completed.response.created_at,
        created?.type === "response.created" && created.response.created_at,
      );
      assert.equal(completed.response.usage?.output_tokens, 6);
      assert.equal(completed.response.output_text ?? text, text);
    }
    assert.match(text, /[a-z]/);
  });

  test("the responses.stream() helper accumulates the stream into its final response", async () => {
    const stream = client.responses.stream(ask);
    let snapshot = "";
    stream.on("response.output_text.delta", (event) => {
      snapshot = event.snapshot;
    });
    const final = await stream.finalResponse();
    assert.equal(final.model, "gpt-4o-mini");
    assert.equal(final.status, "completed");
    // The helper's final response has no output_text convenience field: the text is in output.
    const message = final.output[0];
    const part = message?.type === "message" ? message.content[0] : undefined;
    const text = part?.type === "output_text" ? part.text : "";
    assert.match(text, /[a-z]/);
    assert.equal(snapshot, text);
    assert.equal(final.usage?.output_tokens, 6);
    // The same request unstreamed gives the same text (temperature 0).
    assert.equal((await client.responses.create(ask)).output_text, text);
  });

  test("the AI SDK's default OpenAI provider (Responses API): streamText and generateText", async () => {
    const model = createOpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused" })("gpt-4o-mini");
    const options = { model, prompt: "Say something", maxOutputTokens: 6, temperature: 0, maxRetries: 0 };
    const errors: unknown[] = [];
    const streamed = streamText({ ...options, onError: ({ error }) => void errors.push(error) });
    let text = "";
    for await (const delta of streamed.textStream) text += delta;
    assert.deepEqual(errors, []);
    assert.equal(await streamed.finishReason, "stop");
    assert.match(text, /[a-z]/);
    assert.equal((await streamed.usage).outputTokens, 6);
    assert.equal((await streamed.response).modelId, "gpt-4o-mini");

    const generated = await generateText(options);
    assert.equal(generated.finishReason, "stop");
    assert.equal(generated.text, text);
    assert.equal(generated.usage.outputTokens, 6);
    assert.equal(generated.response.modelId, "gpt-4o-mini");
  });
});
