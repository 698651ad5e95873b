import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Json, postJson, readRecord } from "../fixtures/fake/client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { childGroups, groupMembers } from "../support/process-tree.js";

/**
 * A client that goes away stops its work, observed at the backend (the fake's recorder):
 * llama-server sees the connection close (`client-closed`) and never finishes (`done`) a
 * generation nobody reads; a request whose client left while the model loaded is never sent.
 * (Leaving while queued behind a busy model: test/integration/scheduling.test.ts.)
 */
describe("client disconnects cancel the upstream request", () => {
  const dir = mkdtempSync(join(tmpdir(), "llamawrapper-cancel-"));
  const slowRecord = join(dir, "slow.jsonl");
  const loadRecord = join(dir, "load.jsonl");
  let gateway: RunningGateway;
  const groups = new Set<number>();

  before(async () => {
    gateway = await startGateway({
      scheduler: { maxLoadedModels: 2 },
      models: {
        // 1000 tokens at 20 ms: 20 s of generation unless the disconnect reaches the backend.
        slow: {
          cmd: fakeCmd("--fake-record", slowRecord, "--fake-tokens", "1000", "--fake-token-delay-ms", "20"),
        },
        loady: { cmd: fakeCmd("--fake-record", loadRecord, "--fake-load-ms", "1500") },
      },
    });
  });

  after(async () => {
    for (const pgid of childGroups(gateway.process.pid ?? 0)) groups.add(pgid);
    assert.equal(await gateway.stop(), 0, gateway.output().slice(-3000));
    assert.deepEqual(groupMembers([...groups]), []);
  });

  const chat = (model: string, body: Record<string, unknown>, signal: AbortSignal) =>
    postJson(
      gateway.url,
      "/v1/chat/completions",
      { model, messages: [{ role: "user", content: "hi" }], ...body },
      { signal },
    );

  function eventsFor(file: string, id: string): string[] {
    return readRecord(file)
      .filter((e) => e.id === id)
      .map((e) => e.event as string);
  }

  async function newRequestId(file: string, seen: number): Promise<string> {
    const requests = await waitFor("the request at the backend", () => {
      const all = readRecord(file).filter((e) => e.event === "request");
      return all.length > seen ? all : undefined;
    });
    return (requests.at(-1) as Json).id as string;
  }

  function requestCount(file: string): number {
    return readRecord(file).filter((e) => e.event === "request").length;
  }

  test("mid-stream: the backend sees the client leave and stops generating", async () => {
    const seen = requestCount(slowRecord);
    const leaver = new AbortController();
    const res = await chat("slow", { stream: true }, leaver.signal);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // the stream is flowing
    const id = await newRequestId(slowRecord, seen);
    leaver.abort();
    await waitFor(
      "client-closed at the backend",
      () => (eventsFor(slowRecord, id).includes("client-closed") ? true : undefined),
      5_000,
    );
    assert.deepEqual(eventsFor(slowRecord, id), ["request", "client-closed"]);
  });

  test("during a non-streamed generation: the backend sees the client leave", async () => {
    const seen = requestCount(slowRecord);
    const leaver = new AbortController();
    const pending = chat("slow", {}, leaver.signal).catch((error: unknown) => error);
    const id = await newRequestId(slowRecord, seen);
    leaver.abort();
    assert.ok((await pending) instanceof Error);
    await waitFor(
      "client-closed at the backend",
      () => (eventsFor(slowRecord, id).includes("client-closed") ? true : undefined),
      5_000,
    );
    assert.deepEqual(eventsFor(slowRecord, id), ["request", "client-closed"]);
  });

  test("while the model loads: the request is never sent to it", async () => {
    const leaver = new AbortController();
    const pending = chat("loady", {}, leaver.signal).catch((error: unknown) => error);
    await waitFor("the model to be loading", async () =>
      (await state("loady")) === "loading" ? true : undefined,
    );
    leaver.abort();
    assert.ok((await pending) instanceof Error);
    await waitFor("the load to finish anyway", async () =>
      (await state("loady")) === "loaded" ? true : undefined,
    );
    // A later request is answered; by then a request that was not cancelled would have been sent.
    const res = await chat("loady", {}, new AbortController().signal);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const requests = readRecord(loadRecord).filter((e) => e.event === "request");
    assert.equal(requests.length, 1, `the backend saw ${JSON.stringify(requests)}`);
    const logged = await waitFor("the 499 in the access log", () =>
      gateway
        .output()
        .split("\n")
        .find((l) => l.includes('"modelAsked":"loady"') && l.includes('"status":499')),
    );
    assert.match(logged, /"msg":"request"/);
  });

  async function state(id: string): Promise<string | undefined> {
    const list = (await (await fetch(`${gateway.url}/v1/models`)).json()) as Json;
    return (list.data as Json[]).find((m) => m.id === id)?.state;
  }
});
