import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { type Json, postJson, readAll, readRecord, sseData } from "../fixtures/fake/client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { childGroups, groupMembers } from "../support/process-tree.js";

/**
 * The API surface against the fake llama-server, where faults are on demand: errors before and
 * after the response started, the model name the client asked for, usage, and input the gateway
 * refuses before it reaches the backend (observed with the fake's request recorder).
 */
describe("API faults and shaping, fake llama-server behind the gateway", () => {
  const record = join(mkdtempSync(join(tmpdir(), "llamawrapper-api-")), "fake.jsonl");
  let gateway: RunningGateway;
  let client: OpenAI;
  const groups = new Set<number>();

  before(async () => {
    gateway = await startGateway({
      scheduler: { maxLoadedModels: 8 },
      defaultModel: "gpt-fake",
      models: {
        fake: { cmd: fakeCmd("--fake-record", record, "--fake-tokens", "6"), aliases: ["gpt-fake"] },
        crashy: { cmd: fakeCmd("--fake-crash-after-chunks", "3", "--fake-tokens", "8") },
        "crashy-sdk": { cmd: fakeCmd("--fake-crash-after-chunks", "2", "--fake-tokens", "8") },
        dies: { cmd: fakeCmd("--fake-crash-after-chunks", "0") },
        refuses: { cmd: fakeCmd("--fake-status", "400") },
        busy: { cmd: fakeCmd("--fake-status", "503") },
        broken: { cmd: fakeCmd("--fake-status", "500") },
      },
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });

  after(async () => {
    for (const pgid of childGroups(gateway.process.pid ?? 0)) groups.add(pgid);
    assert.equal(await gateway.stop(), 0, gateway.output().slice(-3000));
    assert.deepEqual(groupMembers([...groups]), []);
  });

  const messages = [{ role: "user" as const, content: "hello there" }];
  const chat = (body: Record<string, unknown>) =>
    postJson(gateway.url, "/v1/chat/completions", { messages, ...body });
  const requestsSeen = () => readRecord(record).filter((e) => e.event === "request").length;

  test("a backend that dies mid-stream: the chunks so far, an error event, [DONE], no fake finish", async () => {
    const res = await chat({ model: "crashy", stream: true });
    assert.equal(res.status, 200);
    const { text, error } = await readAll(res);
    assert.equal(error, undefined, "the stream ends cleanly, in band");
    const data = sseData(text);
    assert.equal(data.at(-1), "[DONE]");
    const failure = JSON.parse(data.at(-2) as string) as Json;
    assert.equal(failure.error.code, "backend_crashed");
    assert.equal(failure.error.type, "server_error");
    const chunks = data.slice(0, -2).map((d) => JSON.parse(d) as Json);
    assert.equal(chunks.filter((c) => c.choices[0].delta.content !== null).length, 3);
    assert.ok(
      chunks.every((c) => c.choices[0].finish_reason === null),
      "no chunk pretends the answer finished",
    );
  });

  test("the OpenAI SDK raises the mid-stream failure instead of ending quietly", async () => {
    const stream = await client.chat.completions.create({ model: "crashy-sdk", messages, stream: true });
    let words = 0;
    await assert.rejects(
      async () => {
        for await (const chunk of stream) if (chunk.choices[0]?.delta.content) words++;
      },
      (error: unknown) => error instanceof OpenAI.APIError && error.code === "backend_crashed",
    );
    assert.equal(words, 2);
  });

  test("a backend that dies before answering is a 502 backend_crashed", async () => {
    const res = await chat({ model: "dies" });
    assert.equal(res.status, 502);
    assert.equal(((await res.json()) as Json).error.code, "backend_crashed");
  });

  test("llama-server's own error answers keep their status, in OpenAI's shape", async () => {
    const cases: Array<[string, number, string]> = [
      ["refuses", 400, "invalid_request"],
      ["busy", 503, "backend_unavailable"],
      ["broken", 500, "backend_internal_error"],
    ];
    for (const [model, status, code] of cases) {
      for (const stream of [false, true]) {
        const res = await chat({ model, stream });
        assert.equal(res.status, status, `${model} stream=${stream}`);
        const body = (await res.json()) as Json;
        assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
        assert.equal(body.error.code, code);
        assert.match(body.error.message, /fake failure/);
      }
    }
    const busy = await chat({ model: "busy" });
    assert.equal(busy.headers.get("retry-after"), "1");
    await busy.arrayBuffer();
    // The fake, like llama-server, has no embeddings without --embeddings: 501 passed on.
    const noEmbeddings = await postJson(gateway.url, "/v1/embeddings", { input: "x" });
    assert.equal(noEmbeddings.status, 501);
    assert.equal(((await noEmbeddings.json()) as Json).error.code, "not_supported");
  });

  test("a request without model goes to defaultModel, and answers carry that name, streamed too", async () => {
    // No --alias on the fake's command line: it calls itself "fake" unless told otherwise.
    const plain = (await (await chat({})).json()) as Json;
    assert.equal(plain.model, "gpt-fake");
    const streamed = sseData((await readAll(await chat({ stream: true }))).text);
    const chunks = streamed.slice(0, -1).map((d) => JSON.parse(d) as Json);
    assert.ok(chunks.length >= 7);
    assert.deepEqual([...new Set(chunks.map((c) => c.model))], ["gpt-fake"]);
  });

  test("usage: counted for every request, its stream chunk only shown when the client asked", async () => {
    const without = sseData((await readAll(await chat({ stream: true }))).text).slice(0, -1);
    assert.ok(
      without.every((d) => !d.includes('"usage"')),
      "no usage chunk the client did not ask for",
    );
    const asked = sseData(
      (await readAll(await chat({ stream: true, stream_options: { include_usage: true } }))).text,
    ).slice(0, -1);
    const usage = (JSON.parse(asked.at(-1) as string) as Json).usage;
    assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [2, 6]);
    const res = await chat({ stream: true, max_tokens: 4 });
    const id = res.headers.get("x-request-id");
    await readAll(res);
    const line = await waitFor("the access log line", () =>
      gateway
        .output()
        .split("\n")
        .find((l) => l.includes(`"requestId":"${id}"`)),
    );
    const entry = JSON.parse(line) as Json;
    assert.deepEqual([entry.tokensIn, entry.tokensOut, entry.tokensCached], [2, 4, 0]);
  });

  test("bad input is a 400 naming the param and never reaches the backend", async () => {
    assert.equal((await chat({ model: "fake" })).status, 200);
    const before = requestsSeen();
    const raw = (body: string | Uint8Array) =>
      fetch(`${gateway.url}/v1/chat/completions`, { method: "POST", body });
    const cases: Array<[Promise<Response>, string, string | null]> = [
      [raw('{"model":"fake","messages":[}'), "invalid_json", null],
      [raw(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), "invalid_json", null],
      [raw("[1,2]"), "invalid_request", null],
      [chat({ model: 42 }), "invalid_request", "model"],
      [chat({ model: "fake", stream: "yes" }), "invalid_request", "stream"],
      [chat({ model: "fake", messages: "hi" }), "invalid_request", "messages"],
      [
        chat({ model: "fake", stream_options: { include_usage: "y" } }),
        "invalid_request",
        "stream_options.include_usage",
      ],
      [chat({ model: "fake", id_slot: 0 }), "param_not_allowed", "id_slot"],
      [chat({ model: "fake", n_discard: 4 }), "param_not_allowed", "n_discard"],
      [chat({ model: "fake", lora: [{ path: "/tmp/x.gguf", scale: 1 }] }), "param_not_allowed", "lora"],
      [
        postJson(gateway.url, "/v1/completions", { model: "fake", prompt: "a", n_probs: 5000 }),
        "param_not_allowed",
        "n_probs",
      ],
    ];
    for (const [pending, code, param] of cases) {
      const res = await pending;
      const body = (await res.json()) as Json;
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.deepEqual([body.error.code, body.error.param], [code, param]);
    }
    assert.equal((await chat({ model: "fake" })).status, 200);
    assert.equal(requestsSeen(), before + 1, "only the two valid requests reached the fake");
  });

  test("an unknown model is a 404 model_not_found; so is an unknown route", async () => {
    await assert.rejects(
      client.chat.completions.create({ model: "nope", messages }),
      (error: unknown) => error instanceof OpenAI.NotFoundError && error.code === "model_not_found",
    );
    await assert.rejects(client.models.retrieve("nope"), OpenAI.NotFoundError);
    const route = await postJson(gateway.url, "/v1/nothing", {});
    assert.equal(route.status, 404);
    assert.equal(((await route.json()) as Json).error.code, "not_found");
  });
});
