import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import type { Json } from "../fixtures/fake/client.js";
import { admin, modelStatus } from "../support/admin-client.js";
import { type TestAssets, testAssets } from "../support/assets.js";
import { waitFor } from "../support/deadline.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { type LlamaServerProcess, startLlamaServer } from "../support/llama-server-process.js";
import { stopClean } from "../support/stop-clean.js";

const ADMIN = "sk-admin-upstreams-1";
const REMOTE_KEY = "sk-remote-llama-1";

/** A server that records every request; `mode` decides its answers. */
class StubUpstream {
  readonly hits: string[] = [];
  mode: "ok" | "fail" = "fail";
  readonly server: Server = createServer((req, res) => {
    this.hits.push(`${req.method} ${req.url} ${req.headers.authorization ?? "-"}`);
    req.resume();
    if (req.url === "/health") {
      res.writeHead(200).end("{}");
      return;
    }
    if (this.mode === "fail") {
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: 500, message: "boom", type: "server_error" } }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        object: "chat.completion",
        model: "stub",
        choices: [
          { index: 0, message: { role: "assistant", content: "stub says hi" }, finish_reason: "stop" },
        ],
        usage: { prompt_tokens: 1, completion_tokens: 3, total_tokens: 4 },
      }),
    );
  });

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Requests other than health checks. */
  calls(): string[] {
    return this.hits.filter((hit) => !hit.startsWith("GET /health"));
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

/**
 * Remote upstreams: a model served by a local llama-server and a remote one (another
 * llama-server this test starts on another loopback port, with its own key), a flaky remote
 * that answers 500, and a remote-only model. Health checks run every 200 ms so the rise and fall
 * of an upstream take well under a second.
 */
describe("remote upstreams", () => {
  let assets: TestAssets;
  let gateway: RunningGateway;
  let remote: LlamaServerProcess;
  const flaky = new StubUpstream();
  const canary = new StubUpstream();
  const remoteArgs = () => ["-m", assets.tinyModel, "-c", "1024", "-np", "2", "--api-key", REMOTE_KEY];

  before(async () => {
    assets = await testAssets();
    remote = await startLlamaServer(assets.llamaServer, remoteArgs());
    const flakyUrl = await flaky.listen();
    await canary.listen();
    const local = { model: assets.tinyModel, args: ["-c", "1024", "-np", "1"], affinity: false };
    gateway = await startGateway(
      {
        llamaServer: { binary: assets.llamaServer },
        auth: { adminKeys: [{ name: "ops", key: ADMIN }] },
        cache: { enabled: false },
        scheduler: { maxLoadedModels: 1 },
        upstreamHealth: {
          interval: "200ms",
          timeout: "500ms",
          fall: 2,
          rise: 2,
          ejectAfter: 2,
          ejectTime: "1500ms",
        },
        models: {
          tiny: {
            ...local,
            upstreams: [
              {
                url: `http://127.0.0.1:${remote.port}`,
                name: "remote",
                keyEnv: "REMOTE_KEY",
                maxConcurrent: 1,
              },
            ],
          },
          flaky: {
            ...local,
            upstreams: [{ url: flakyUrl, name: "stub", model: "stub-model", maxConcurrent: 1 }],
          },
          "far-only": {
            upstreams: [{ url: `http://127.0.0.1:${remote.port}`, keyEnv: "REMOTE_KEY" }],
          },
        },
      },
      { env: { REMOTE_KEY } },
    );
  });

  after(async () => {
    await stopClean(gateway);
    await remote.kill();
    flaky.close();
    canary.close();
  });

  async function chat(
    model: string,
    extra: Record<string, unknown> = {},
    headers: Record<string, string> = {},
  ) {
    const res = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN}`, ...headers },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 3, ...extra }),
    });
    return { status: res.status, json: (await res.json()) as Json };
  }

  /** The instances the last `count` requests of `model` ran on, oldest first. */
  async function placed(model: string, count: number): Promise<string[]> {
    const { body } = await admin(gateway, "GET", `/admin/requests?model=${model}&limit=${count}`, {
      key: ADMIN,
    });
    return (body.requests as Json[]).map((r) => r.instance as string).reverse();
  }

  async function instanceState(model: string, name: string): Promise<Json> {
    const status = await modelStatus(gateway, model, ADMIN);
    return (status.instances as Json[]).find((i) => i.name === name) as Json;
  }

  test("a model's requests are balanced over its local instance and its remote llama-server", async () => {
    // The remote is ready at its first check, the local child only once loaded: wait for both,
    // or a slow machine serves every request from the remote while the local one loads.
    assert.equal((await admin(gateway, "POST", "/admin/models/tiny/load", { key: ADMIN })).status, 200);
    await waitFor(
      "both instances of tiny ready",
      async () => {
        const status = await modelStatus(gateway, "tiny", ADMIN);
        return (status.instances as Json[]).every((i) => i.state === "ready") ? true : undefined;
      },
      60_000,
    );
    for (let i = 0; i < 6; i++) assert.equal((await chat("tiny")).status, 200);
    const instances = new Set(await placed("tiny", 6));
    assert.deepEqual([...instances].sort(), ["tiny#0", "tiny@remote"]);
    const state = await instanceState("tiny", "tiny@remote");
    assert.equal(state.remote, true);
    assert.equal(state.url, `http://127.0.0.1:${remote.port}`);
    const models = (await (
      await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as Json;
    assert.ok(
      (models.data as Json[]).some((m) => m.id === "far-only"),
      "a remote-only model is listed",
    );
  });

  test("the remote killed: traffic moves to the local instance; restarted: it comes back after its rise", async () => {
    await remote.kill();
    for (let i = 0; i < 6; i++) assert.equal((await chat("tiny")).status, 200, "no request lost");
    assert.deepEqual(new Set(await placed("tiny", 6)), new Set(["tiny#0"]));
    await waitFor("the remote out of rotation", async () =>
      (await instanceState("tiny", "tiny@remote")).state === "failed" ? true : undefined,
    );
    remote = await startLlamaServer(assets.llamaServer, remoteArgs(), remote.port);
    await waitFor("the remote back after its rise", async () =>
      (await instanceState("tiny", "tiny@remote")).state === "ready" ? true : undefined,
    );
    for (let i = 0; i < 4; i++) assert.equal((await chat("tiny")).status, 200);
    assert.ok((await placed("tiny", 4)).includes("tiny@remote"), "it takes requests again");
    const metrics = await (
      await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).text();
    assert.match(metrics, /llamawrapper_upstream_up\{model="tiny",instance="tiny@remote"\} 1\n/);
  });

  test("a remote that answers 5xx is retried elsewhere, ejected, and tried again after its back-off", async () => {
    // Its failures move each request to the local instance: the clients see 200s.
    for (let i = 0; i < 6; i++) assert.equal((await chat("flaky")).status, 200);
    const stub = await instanceState("flaky", "flaky@stub");
    assert.equal(stub.state, "failed", JSON.stringify(stub));
    assert.match(stub.failure as string, /ejected for 1.5 s after 2 failed requests in a row/);
    assert.equal(flaky.calls().length, 2, "ejected after two failures: no more requests");
    const metrics = await (
      await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).text();
    assert.match(metrics, /llamawrapper_upstream_up\{model="flaky",instance="flaky@stub"\} 0\n/);
    assert.match(flaky.calls()[0] ?? "", /^POST \/v1\/chat\/completions -$/, "no key configured: none sent");
    for (let i = 0; i < 3; i++) assert.equal((await chat("flaky")).status, 200);
    assert.equal(flaky.calls().length, 2, "still ejected");
    flaky.mode = "ok";
    await waitFor(
      "the stub back in rotation after its ejection",
      async () => ((await instanceState("flaky", "flaky@stub")).state === "ready" ? true : undefined),
      10_000,
    );
    let answered = false;
    for (let i = 0; i < 4 && !answered; i++) {
      const { json } = await chat("flaky");
      answered = json.choices[0].message.content === "stub says hi";
    }
    assert.ok(answered, "the stub answers again");
  });

  test("a remote-only model answers without loading anything: the loaded local model stays", async () => {
    assert.equal((await chat("tiny")).status, 200);
    assert.equal((await chat("far-only")).status, 200);
    const tiny = await modelStatus(gateway, "tiny", ADMIN);
    assert.equal(tiny.resident, true, "maxLoadedModels 1, and tiny was not evicted");
    assert.deepEqual(await placed("far-only", 1), [`far-only@127.0.0.1:${remote.port}`]);
  });

  test("no field or header makes the gateway connect to an address that is not in its config", async () => {
    const elsewhere = `http://127.0.0.1:${(canary.server.address() as AddressInfo).port}`;
    const host = elsewhere.slice("http://".length);
    const attempts: Array<[string, Record<string, unknown>, Record<string, string>]> = [
      ["model as a URL", { model: elsewhere }, {}],
      ["model as host:port", { model: host }, {}],
      ["base_url and api_base fields", { base_url: elsewhere, api_base: elsewhere, url: elsewhere }, {}],
      ["proxy headers", {}, { "x-forwarded-host": host, forwarded: `host=${host}`, "x-upstream": elsewhere }],
      [
        "media url",
        { messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: elsewhere } }] }] },
        {},
      ],
    ];
    for (const [what, extra, headers] of attempts) {
      const model = typeof extra.model === "string" ? extra.model : "tiny";
      const res = await chat(model, extra, headers);
      assert.ok(res.status === 200 || res.status === 400 || res.status === 404, `${what}: ${res.status}`);
    }
    for (const path of [
      `/upstream/${host}/health`,
      `/upstream/tiny/..%2f..%2f${host}`,
      `/${elsewhere}/v1/models`,
    ]) {
      await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    }
    assert.deepEqual(canary.hits, [], "the canary was never contacted");
  });
});
