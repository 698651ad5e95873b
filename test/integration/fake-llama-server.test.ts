import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Json, postJson, readAll, readRecord, sseData } from "../fixtures/fake/client.js";
import {
  type FakeServer,
  fakeCommand,
  isAlive,
  pollUntil,
  spawnFake,
  startFake,
  waitForHealth,
} from "../fixtures/fake/launch.js";

// The fake llama-server is what most gateway fault tests stand on, so its switches are
// tested here against a real process and real sockets.

const CHAT = { messages: [{ role: "user", content: "say hello to the whole world" }] };

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), "fake-llama-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("a ready fake with llama-server's usual flags", () => {
  let fake: FakeServer;
  before(async () => {
    // Unknown llama-server flags, with and without values, must be accepted.
    fake = await startFake([
      ...["-m", "/models/tiny-chat.gguf", "-c", "2048", "-ngl", "99", "--pooling", "mean", "-t", "4"],
      ...["--jinja", "--seed", "-1", "-np", "2", "--no-webui", "--flash-attn", "on", "--embeddings"],
    ]);
    await waitForHealth(fake.baseUrl);
  });
  after(() => fake.stop());

  test("/v1/models names the model file, like llama-server", async () => {
    const body = (await (await fetch(`${fake.baseUrl}/v1/models`)).json()) as Json;
    assert.equal(body.object, "list");
    assert.equal(body.data[0].id, "tiny-chat.gguf");
    assert.equal(body.data[0].owned_by, "llamacpp");
    assert.equal(body.data[0].meta.n_ctx, 2048);
    assert.equal(typeof body.data[0].meta.n_ctx_train, "number");
  });

  test("a non-streaming chat completion has OpenAI's shape, usage and timings", async () => {
    const res = await postJson(fake.baseUrl, "/v1/chat/completions", { ...CHAT, model: "asked-for" });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Json;
    assert.match(body.id, /^chatcmpl-\d+$/);
    assert.equal(body.object, "chat.completion");
    assert.equal(body.model, "asked-for");
    assert.deepEqual(body.choices[0].message, {
      role: "assistant",
      content: "The quick brown fox jumps over the lazy",
    });
    assert.equal(body.choices[0].finish_reason, "stop");
    assert.equal(body.usage.prompt_tokens, 6);
    assert.equal(body.usage.completion_tokens, 8);
    assert.equal(body.usage.total_tokens, 14);
    assert.equal(body.timings.predicted_n, 8);
  });

  test("max_tokens below --fake-tokens cuts the answer with finish_reason length", async () => {
    const body = (await (
      await postJson(fake.baseUrl, "/chat/completions", { ...CHAT, max_tokens: 3 })
    ).json()) as Json;
    assert.equal(body.model, "tiny-chat.gguf");
    assert.equal(body.choices[0].message.content, "The quick brown");
    assert.equal(body.choices[0].finish_reason, "length");
    assert.equal(body.usage.completion_tokens, 3);
  });

  test("a stream sends role, one chunk per token, finish, usage, then [DONE]", async () => {
    const res = await postJson(fake.baseUrl, "/v1/chat/completions", {
      ...CHAT,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    assert.equal(res.headers.get("cache-control"), "no-cache");
    const data = sseData(await res.text());
    assert.equal(data.at(-1), "[DONE]");
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Json);
    assert.deepEqual(chunks[0]?.choices[0].delta, { role: "assistant", content: null });
    const content = chunks.slice(1, 9).map((c) => c.choices[0].delta.content);
    assert.equal(content.join(""), "The quick brown fox jumps over the lazy");
    assert.equal(chunks[9]?.choices[0].finish_reason, "stop");
    assert.deepEqual(chunks[10]?.choices, []);
    assert.deepEqual(chunks[10]?.usage, {
      completion_tokens: 8,
      prompt_tokens: 6,
      total_tokens: 14,
      prompt_tokens_details: { cached_tokens: 0 },
    });
    assert.equal(chunks.length, 11);
    assert.ok(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === chunks[0]?.id));
  });

  test("a stream without include_usage has no usage chunk", async () => {
    const data = sseData(
      await (await postJson(fake.baseUrl, "/v1/chat/completions", { ...CHAT, stream: true })).text(),
    );
    assert.equal(data.length, 1 + 8 + 1 + 1);
    assert.ok(!data.some((d) => d.includes('"usage"')));
  });

  test("/v1/completions answers text, streamed and not", async () => {
    const body = (await (
      await postJson(fake.baseUrl, "/v1/completions", { prompt: "one two", n_predict: 2 })
    ).json()) as Json;
    assert.equal(body.object, "text_completion");
    assert.equal(body.choices[0].text, "The quick");
    assert.equal(body.usage.prompt_tokens, 2);
    const data = sseData(
      await (await postJson(fake.baseUrl, "/completions", { prompt: "x", stream: true })).text(),
    );
    assert.equal(data.length, 8 + 1 + 1);
    assert.equal(data.at(-1), "[DONE]");
  });

  test("embeddings, tokenize, detokenize and unknown routes", async () => {
    const emb = (await (
      await postJson(fake.baseUrl, "/v1/embeddings", { input: ["a b", "c"] })
    ).json()) as Json;
    assert.equal(emb.data.length, 2);
    assert.equal(emb.usage.prompt_tokens, 3);
    const tok = (await (await postJson(fake.baseUrl, "/tokenize", { content: "a b c" })).json()) as Json;
    assert.equal(tok.tokens.length, 3);
    const detok = (await (await postJson(fake.baseUrl, "/detokenize", { tokens: [1, 2] })).json()) as Json;
    assert.equal(detok.content, "The quick");
    assert.equal((await fetch(`${fake.baseUrl}/nope`)).status, 404);
  });
});

test("while loading, every route answers 503 Loading model, then /health turns 200", async (t) => {
  const fake = await startFake(["--fake-load-ms", "400"]);
  t.after(() => fake.stop());
  const res = await fetch(`${fake.baseUrl}/health`);
  assert.equal(res.status, 503);
  assert.deepEqual(await res.json(), {
    error: { message: "Loading model", type: "unavailable_error", code: 503 },
  });
  assert.equal((await postJson(fake.baseUrl, "/v1/chat/completions", CHAT)).status, 503);
  assert.equal(await waitForHealth(fake.baseUrl), '{"status":"ok"}');
});

test("--fake-never-ready keeps /health at 503", async (t) => {
  const fake = await startFake(["--fake-never-ready"]);
  t.after(() => fake.stop());
  assert.equal((await fetch(`${fake.baseUrl}/health`)).status, 503);
});

test("--api-key guards every route but /health", async (t) => {
  const fake = await startFake(["--api-key", "sekret,second"]);
  t.after(() => fake.stop());
  await waitForHealth(fake.baseUrl);
  for (const headers of [{}, { authorization: "Bearer wrong" }]) {
    const res = await postJson(fake.baseUrl, "/v1/chat/completions", CHAT, { headers });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), {
      error: { message: "Invalid API Key", type: "authentication_error", code: 401 },
    });
  }
  assert.equal((await fetch(`${fake.baseUrl}/v1/models`)).status, 401);
  for (const key of ["sekret", "second"]) {
    const headers = { authorization: `Bearer ${key}` };
    assert.equal((await postJson(fake.baseUrl, "/v1/chat/completions", CHAT, { headers })).status, 200);
  }
});

test("llama-server's own env vars (LLAMA_API_KEY, LLAMA_ARG_*) configure it too", async (t) => {
  const env = { LLAMA_API_KEY: "from-env", LLAMA_ARG_ALIAS: "env-model", LLAMA_ARG_EMBEDDINGS: "1" };
  const fake = await startFake([], { env });
  t.after(() => fake.stop());
  await waitForHealth(fake.baseUrl);
  assert.equal((await fetch(`${fake.baseUrl}/v1/models`)).status, 401);
  const headers = { authorization: "Bearer from-env" };
  const models = (await (await fetch(`${fake.baseUrl}/v1/models`, { headers })).json()) as Json;
  assert.equal(models.data[0].id, "env-model");
  assert.equal((await postJson(fake.baseUrl, "/v1/embeddings", { input: "x" }, { headers })).status, 200);
});

test("embeddings without --embeddings answer 501 like llama-server", async (t) => {
  const fake = await startFake([]);
  t.after(() => fake.stop());
  await waitForHealth(fake.baseUrl);
  const res = await postJson(fake.baseUrl, "/v1/embeddings", { input: "x" });
  assert.equal(res.status, 501);
  const body = (await res.json()) as Json;
  assert.equal(body.error.type, "not_supported_error");
  assert.match(body.error.message, /Start it with `--embeddings`/);
});

test("FAKE_* env vars set switches, and flags win over them", async (t) => {
  const fake = await startFake(["--fake-tokens", "5"], { env: { FAKE_TOKENS: "3", FAKE_STATUS: "500" } });
  t.after(() => fake.stop());
  await waitForHealth(fake.baseUrl);
  const res = await postJson(fake.baseUrl, "/v1/chat/completions", CHAT);
  assert.equal(res.status, 500);
  assert.equal(((await res.json()) as Json).error.type, "server_error");
  const other = await startFake([], { env: { FAKE_TOKENS: "3" } });
  t.after(() => other.stop());
  await waitForHealth(other.baseUrl);
  const body = (await (await postJson(other.baseUrl, "/v1/chat/completions", CHAT)).json()) as Json;
  assert.equal(body.usage.completion_tokens, 3);
  const flagged = await startFake(["--fake-tokens", "5"], { env: { FAKE_TOKENS: "3" } });
  t.after(() => flagged.stop());
  await waitForHealth(flagged.baseUrl);
  const body5 = (await (await postJson(flagged.baseUrl, "/v1/chat/completions", CHAT)).json()) as Json;
  assert.equal(body5.usage.completion_tokens, 5);
});

test("--fake-exit-after-ms with --fake-exit-code ends the process with that code", async (t) => {
  const fake = await startFake(["--fake-exit-after-ms", "200", "--fake-exit-code", "3"]);
  t.after(() => fake.stop());
  assert.deepEqual(await fake.exited, { code: 3, signal: null });
});

test("--fake-crash-after-chunks ends the stream without a final chunk or [DONE]", async (t) => {
  const fake = await startFake(["--fake-crash-after-chunks", "2", "--fake-tokens", "20"]);
  t.after(() => fake.stop());
  await waitForHealth(fake.baseUrl);
  const res = await postJson(fake.baseUrl, "/v1/chat/completions", { ...CHAT, stream: true });
  assert.equal(res.status, 200);
  const { text, error } = await readAll(res);
  assert.ok(error !== undefined, "the stream must break, not end cleanly");
  const data = sseData(text);
  assert.ok(!data.includes("[DONE]"));
  assert.equal(data.filter((d) => d.includes('"content":"')).length, 2);
  assert.ok(!data.some((d) => d.includes('"finish_reason":"')));
  assert.equal((await fake.exited).code, 1);
});

test("--fake-crash-after-chunks 0 dies before any response byte", async (t) => {
  const fake = await startFake(["--fake-crash-after-chunks", "0"]);
  t.after(() => fake.stop());
  await waitForHealth(fake.baseUrl);
  await assert.rejects(postJson(fake.baseUrl, "/v1/chat/completions", { ...CHAT, stream: true }));
  assert.equal((await fake.exited).code, 1);
});

test("--fake-record records a client that leaves mid-stream, then a finished request as done", async (t) => {
  const file = join(dir, "client-closed.jsonl");
  const fake = await startFake([
    "--fake-record",
    file,
    "--fake-tokens",
    "1000",
    "--fake-token-delay-ms",
    "20",
  ]);
  t.after(() => fake.stop());
  await waitForHealth(fake.baseUrl);
  const abort = new AbortController();
  const res = await postJson(
    fake.baseUrl,
    "/v1/chat/completions",
    { ...CHAT, stream: true },
    { signal: abort.signal },
  );
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let text = "";
  while (!text.includes('"content":"')) text += new TextDecoder().decode((await reader.read()).value);
  abort.abort();
  const events = await pollUntil("client-closed in the record", () => {
    const lines = readRecord(file);
    return lines.some((l) => l.event === "client-closed") ? lines : undefined;
  });
  assert.deepEqual(
    events.map((e) => e.event),
    ["request", "client-closed"],
  );
  assert.equal(events[0]?.path, "/v1/chat/completions");
  assert.match(events[0]?.id, /^chatcmpl-\d+$/);
  // The fake is still fine and records a finished request as done.
  await postJson(fake.baseUrl, "/v1/completions", { prompt: "x", max_tokens: 1 }).then((r) => r.text());
  const last = await pollUntil("done in the record", () => readRecord(file).find((l) => l.event === "done"));
  assert.equal(last.path, "/v1/completions");
});

test("--fake-hang-inference never answers completions while /health stays 200", async (t) => {
  const file = join(dir, "hang.jsonl");
  const fake = await startFake(["--fake-hang-inference", "--fake-record", file]);
  t.after(() => fake.stop());
  await waitForHealth(fake.baseUrl);
  const abort = new AbortController();
  let settled = false;
  const pending = postJson(fake.baseUrl, "/v1/chat/completions", CHAT, { signal: abort.signal }).finally(
    () => {
      settled = true;
    },
  );
  await pollUntil("the request in the record", () => readRecord(file)[0]);
  assert.equal((await fetch(`${fake.baseUrl}/health`)).status, 200);
  assert.equal(settled, false);
  abort.abort();
  await assert.rejects(pending);
  await pollUntil("client-closed", () => readRecord(file).find((l) => l.event === "client-closed"));
});

test("a port in use makes it exit 1 with llama-server's bind error", async (t) => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  const port = (holder.address() as { port: number }).port;
  const fake = spawnFake(["--port", String(port)]);
  t.after(() => fake.stop());
  assert.equal((await fake.exited).code, 1);
  assert.match(
    fake.stderr(),
    new RegExp(`couldn't bind HTTP server socket, hostname: 127\\.0\\.0\\.1, port: ${port}`),
  );
});

test("SIGTERM exits 0; with --fake-ignore-sigterm it keeps serving", async (t) => {
  const plain = await startFake([]);
  t.after(() => plain.stop());
  plain.child.kill("SIGTERM");
  assert.deepEqual(await plain.exited, { code: 0, signal: null });

  const stubborn = await startFake(["--fake-ignore-sigterm"]);
  t.after(() => stubborn.stop());
  await waitForHealth(stubborn.baseUrl);
  stubborn.child.kill("SIGTERM");
  await stubborn.waitForOutput("stderr", /ignoring SIGTERM/);
  assert.equal((await fetch(`${stubborn.baseUrl}/health`)).status, 200);
});

test("--fake-spawn-grandchild leaves a grandchild in the same process group", async (t) => {
  const fake = await startFake(["--fake-spawn-grandchild"]);
  t.after(() => fake.stop());
  const pid = Number((await fake.waitForOutput("stdout", /fake: grandchild pid (\d+)/))[1]);
  assert.ok(isAlive(pid));
  await fake.stop(); // kills the group, as a supervisor should
  await pollUntil("the grandchild to die with its group", () => (isAlive(pid) ? undefined : true));
});

test("as a router child it prints llama-server's state lines and exits on stdin EOF", async (t) => {
  const env = { LLAMA_SERVER_ROUTER_PORT: "1" };
  const fake = await startFake(["-a", "tiny,alias-b", "--fake-load-ms", "50"], { env, stdin: "pipe" });
  t.after(() => fake.stop());
  const m = await fake.waitForOutput("stdout", /^cmd_child_to_router:state:(\{"state":"ready".*)$/m);
  assert.match(
    fake.stdout(),
    /^cmd_child_to_router:state:\{"state":"loading","payload":\{.*"value":0\.0\}\}$/m,
  );
  const ready = JSON.parse(m[1] as string) as Json;
  assert.equal(ready.payload.id, "alias-b");
  assert.deepEqual(ready.payload.aliases, ["alias-b", "tiny"]);
  // The real child reports ready only after /health answers 200.
  assert.equal((await fetch(`${fake.baseUrl}/health`)).status, 200);
  fake.child.stdin?.end();
  assert.equal((await fake.exited).code, 1);

  const polite = await startFake(["--fake-router-child"], { stdin: "pipe" });
  t.after(() => polite.stop());
  await polite.waitForOutput("stdout", /"state":"ready"/);
  polite.child.stdin?.write("cmd_router_to_child:exit\n");
  assert.equal((await polite.exited).code, 0);
});

test("with FAKE_EXIT_WITH_PARENT (set by the test helpers) it exits when its parent dies", async (t) => {
  const { command, args, cwd } = fakeCommand(["--port", "0"]);
  // A parent that starts the fake (whose stderr it shares), prints its pid, and waits.
  const script = `const c = require("node:child_process").spawn(process.argv[1], JSON.parse(process.argv[2]),
    { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, FAKE_EXIT_WITH_PARENT: String(process.pid) } });
    console.log(c.pid); setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ["-e", script, command, JSON.stringify(args)], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const group = parent.pid as number;
  t.after(() => {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      // already gone
    }
  });
  let out = "";
  const collect = (d: string) => {
    out += d;
  };
  parent.stdout.setEncoding("utf8").on("data", collect);
  parent.stderr.setEncoding("utf8").on("data", collect);
  const pid = await pollUntil("the fake's pid", () => {
    const m = out.match(/^(\d+)$/m);
    return m !== null && out.includes("listening on") ? Number(m[1]) : undefined;
  });
  assert.ok(isAlive(pid));
  process.kill(group, "SIGKILL"); // the parent only, not its group
  await pollUntil("the fake to notice its parent died", () => (isAlive(pid) ? undefined : true));
});

test("--host ending in .sock listens on that Unix socket, as llama-server does, and answers there", async () => {
  const socket = join(dir, "fake.sock");
  const proc = spawnFake(["--host", socket]);
  try {
    await proc.waitForOutput("stderr", /listening on unix:\/\/\S+fake\.sock/);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest({ socketPath: socket, path: "/health" }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    });
    assert.equal(answer.status, 200);
    assert.match(answer.body, /"status":"ok"/);
  } finally {
    await proc.stop();
  }
});
