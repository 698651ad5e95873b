import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, type TestContext, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { testAssets } from "../../test/support/assets.js";
import { cacheDir } from "./cache-dir.js";
import { describeGgufModel, ggufString } from "./gguf-model-info.js";
import { readGgufMetadata } from "./gguf-reader.js";
import { makeTinyModel, type TinyModelResult } from "./tiny-model.js";
import { findVocab } from "./vocab.js";

// The setup build and the vocabulary of its llama.cpp clone (`npm test` prepares both).
const { llamaServer: serverBin } = await testAssets();
const vocab = (await findVocab(cacheDir())) ?? assert.fail("no vocabulary: the setup build did not run");

const sha256 = async (path: string) =>
  createHash("sha256")
    .update(await readFile(path))
    .digest("hex");

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address !== null && typeof address === "object");
  return address.port;
}

interface Running {
  readonly baseUrl: string;
  readonly loadMs: number;
}

/** Starts llama-server on the model, waits for /health 200, and kills it after the test. */
async function startServer(t: TestContext, model: string, extraArgs: string[] = []): Promise<Running> {
  const port = await freePort();
  const started = performance.now();
  const args = ["-m", model, "--host", "127.0.0.1", "--port", String(port), ...extraArgs];
  const child: ChildProcess = spawn(serverBin, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const stopped = await Promise.race([exited.then(() => true), delay(3000).then(() => false)]);
    if (!stopped) {
      child.kill("SIGKILL");
      await exited;
    }
  });

  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = started + 30_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) assert.fail(`llama-server exited with ${child.exitCode}:\n${stderr}`);
    const status = await fetch(`${baseUrl}/health`).then(
      (r) => r.status,
      () => 0, // not listening yet
    );
    if (status === 200) return { baseUrl, loadMs: performance.now() - started };
    await delay(20);
  }
  assert.fail(`llama-server was not healthy within 30 s:\n${stderr}`);
}

interface ChatReply {
  choices: { message: { content: unknown } }[];
}
interface CompletionReply {
  choices: { text: string }[];
  usage: { completion_tokens: number };
}
interface EmbeddingsReply {
  data: { embedding: number[] }[];
}

/** POSTs JSON; the reply's shape is the caller's claim, checked by its assertions. */
async function post<T>(baseUrl: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as T;
}

async function chat(baseUrl: string, temperature: number): Promise<string> {
  const reply = await post<ChatReply>(baseUrl, "/v1/chat/completions", {
    messages: [{ role: "user", content: "Tell me a long story." }],
    max_tokens: 64,
    temperature,
  });
  const content = reply.choices[0]?.message.content;
  assert.equal(typeof content, "string");
  return content as string;
}

let dir = "";
let model: TinyModelResult | undefined;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "tiny-model-test-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("makeTinyModel", () => {
  test("writes a ~17 MB llama model with the vocabulary's tokenizer", async () => {
    model = await makeTinyModel({ vocabPath: vocab, outPath: join(dir, "tiny.gguf"), seed: 7 });
    assert.ok(model.bytes > 16_000_000 && model.bytes < 19_000_000, `size ${model.bytes}`);
    const file = await readGgufMetadata(model.path);
    assert.equal(file.fileSize, model.bytes);
    const info = describeGgufModel(file);
    assert.equal(info.architecture, "llama");
    assert.equal(info.contextLength, 32768);
    assert.equal(info.blockCount, 2);
    assert.equal(info.embeddingLength, 64);
    assert.equal(info.vocabSize, 32000);
    assert.equal(info.fileType, 0);
    assert.equal(file.tensors.length, 3 + 2 * 9);
    const source = await readGgufMetadata(vocab);
    for (const [key, value] of source.metadata) {
      if (key.startsWith("tokenizer.")) assert.deepEqual(file.metadata.get(key), value, key);
    }
    assert.match(ggufString(file.metadata, "tokenizer.chat_template") ?? "", /im_start/);
    assert.equal(model.words.length, 300);
    for (const word of model.words) assert.match(word, /^[a-z]{3,}$/);
  });

  test("is deterministic for a seed and differs between seeds", async () => {
    const again = await makeTinyModel({ vocabPath: vocab, outPath: join(dir, "again.gguf"), seed: 7 });
    const other = await makeTinyModel({ vocabPath: vocab, outPath: join(dir, "other.gguf"), seed: 8 });
    assert.ok(model !== undefined);
    assert.equal(await sha256(again.path), await sha256(model.path));
    assert.notEqual(await sha256(other.path), await sha256(model.path));
    assert.deepEqual(again.words, model.words);
  });
});

describe("makeTinyModel options for discovery tests", () => {
  test("chatTemplate null leaves the template out; extraMetadata adds and replaces keys", async () => {
    const plain = await makeTinyModel({
      vocabPath: vocab,
      outPath: join(dir, "plain.gguf"),
      chatTemplate: null,
      extraMetadata: [
        ["llama.pooling_type", { type: "uint32", value: 1 }],
        ["general.name", { type: "string", value: "renamed" }],
      ],
    });
    const file = await readGgufMetadata(plain.path);
    assert.equal(file.metadata.has("tokenizer.chat_template"), false);
    assert.deepEqual(file.metadata.get("llama.pooling_type"), { type: "uint32", value: 1 });
    assert.equal(ggufString(file.metadata, "general.name"), "renamed");
    assert.deepEqual(plain.shards, [plain.path]);
  });

  test("splitCount writes gguf-split shards: metadata in the first, tensors dealt out", async () => {
    const split = await makeTinyModel({ vocabPath: vocab, outPath: join(dir, "split.gguf"), splitCount: 3 });
    assert.deepEqual(
      split.shards,
      [1, 2, 3].map((i) => join(dir, `split-0000${i}-of-00003.gguf`)),
    );
    assert.equal(split.path, split.shards[0]);
    const files = await Promise.all(split.shards.map((path) => readGgufMetadata(path)));
    assert.equal(
      files.reduce((sum, f) => sum + f.fileSize, 0),
      split.bytes,
    );
    const names = files.flatMap((f) => f.tensors.map((t) => t.name));
    assert.equal(names.length, 3 + 2 * 9);
    assert.equal(new Set(names).size, names.length);
    files.forEach((file, i) => {
      assert.ok(file.tensors.length > 0);
      assert.deepEqual(file.metadata.get("split.no"), { type: "uint16", value: i });
      assert.deepEqual(file.metadata.get("split.count"), { type: "uint16", value: 3 });
      assert.deepEqual(file.metadata.get("split.tensors.count"), { type: "int32", value: names.length });
      assert.equal(file.metadata.has("general.architecture"), i === 0);
    });
  });
});

describe("the tiny model in the real llama-server", () => {
  const wordsOnly = /^ ?[a-z]+( [a-z]+)*$/;

  test("loads fast and answers every chat with plain words", async (t) => {
    assert.ok(model !== undefined, "the makeTinyModel tests run first");
    const { baseUrl, loadMs } = await startServer(t, model.path);
    t.diagnostic(`load to /health 200: ${loadMs.toFixed(0)} ms`);
    const known = new Set(model.words);

    const answers = await Promise.all(Array.from({ length: 20 }, () => chat(baseUrl, 1)));
    for (const answer of answers) {
      assert.match(answer, wordsOnly);
      const words = answer.trim().split(" ");
      assert.ok(words.length >= 32, `only ${words.length} words: ${answer}`);
      for (const word of words) assert.ok(known.has(word), `unexpected word ${word}`);
    }
    assert.ok(new Set(answers.join(" ").split(" ")).size > 20, "temperature 1 should vary the words");

    const first = await chat(baseUrl, 0);
    const second = await chat(baseUrl, 0);
    assert.equal(first, second);
    assert.deepEqual(new Set(first.trim().split(" ")), new Set([model.words[0]]));
  });

  test("serves mean-pooled embeddings of the embedding width", async (t) => {
    assert.ok(model !== undefined, "the makeTinyModel tests run first");
    const { baseUrl } = await startServer(t, model.path, ["--embeddings", "--pooling", "mean"]);
    const reply = await post<EmbeddingsReply>(baseUrl, "/v1/embeddings", {
      input: ["hello world", "a different text"],
    });
    const [a = [], b = []] = reply.data.map((d) => d.embedding);
    assert.equal(a.length, 64);
    assert.equal(b.length, 64);
    assert.ok([...a, ...b].every(Number.isFinite));
    assert.notDeepEqual(a, b);
  });

  test("generates 2,000 tokens in one request (long generations run)", async (t) => {
    assert.ok(model !== undefined, "the makeTinyModel tests run first");
    const { baseUrl, loadMs } = await startServer(t, model.path);
    const started = performance.now();
    const reply = await post<CompletionReply>(baseUrl, "/v1/completions", {
      prompt: "Once upon a time",
      max_tokens: 2000,
      temperature: 1,
      ignore_eos: true,
    });
    const seconds = (performance.now() - started) / 1000;
    assert.equal(reply.usage.completion_tokens, 2000);
    assert.match(reply.choices[0]?.text ?? "", wordsOnly);
    t.diagnostic(
      `load ${loadMs.toFixed(0)} ms; 2000 tokens in ${seconds.toFixed(1)} s (${(2000 / seconds).toFixed(0)} tok/s)`,
    );
  });
});
