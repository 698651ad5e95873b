import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { postJson } from "../fixtures/fake/client.js";
import { testAssets } from "../support/assets.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { startGateway } from "../support/gateway-process.js";
import { childGroups, descendants, groupMembers, isAlive } from "../support/process-tree.js";

const assets = await testAssets();

function chat(url: string, model: string) {
  return postJson(url, "/v1/chat/completions", {
    model,
    messages: [{ role: "user", content: "hi" }],
    max_tokens: 4,
  });
}

test("two clients alternating between two models with maxLoadedModels 1: every request succeeds", async () => {
  const gateway = await startGateway({
    llamaServer: { binary: assets.llamaServer },
    scheduler: { maxLoadedModels: 1 },
    models: {
      a: { model: assets.tinyModel, args: ["-c", "512", "-np", "1"] },
      b: { model: assets.tinyModel, args: ["-c", "512", "-np", "1"] },
    },
  });
  try {
    const client = async (first: string, second: string) => {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        for (const model of [first, second]) {
          const res = await chat(gateway.url, model);
          statuses.push(res.status);
          await res.arrayBuffer();
        }
      }
      return statuses;
    };
    const [one, two] = await Promise.all([client("a", "b"), client("b", "a")]);
    assert.deepEqual([...new Set([...one, ...two])], [200], gateway.output().slice(-3000));
    const swaps = (await gateway.loggedOutput())
      .split("\n")
      .filter((l) => l.includes('"reason":"evicted"')).length;
    assert.ok(swaps >= 2, `expected the models to swap, saw ${swaps} evictions`);
    const running = descendants(gateway.process.pid ?? 0).filter((p) => p.state !== "Z");
    assert.ok(running.length <= 1, "never more than one llama-server at a time at the end");
  } finally {
    const groups = childGroups(gateway.process.pid ?? 0);
    assert.equal(await gateway.stop(), 0);
    assert.deepEqual(groupMembers(groups), []);
  }
});

test("a gateway killed with SIGKILL leaves no llama-server running", async () => {
  const gateway = await startGateway({
    llamaServer: { binary: assets.llamaServer },
    models: { tiny: { model: assets.tinyModel, args: ["-c", "512"] } },
  });
  const res = await chat(gateway.url, "tiny");
  assert.equal(res.status, 200);
  const children = descendants(gateway.process.pid ?? 0).filter((p) => p.pid === p.pgid);
  assert.ok(children.length >= 1);
  gateway.process.kill("SIGKILL");
  await waitFor(
    "llama-server to notice its gateway died",
    () => (children.every((p) => !isAlive(p.pid)) ? true : undefined),
    15_000,
  );
  assert.deepEqual(groupMembers(children.map((p) => p.pgid)), []);
});

test("what a SIGKILLed gateway's wrapper command left behind is stopped when the gateway starts again", async () => {
  const config = {
    models: { wrapped: { cmd: fakeCmd("--fake-spawn-grandchild") } },
  };
  // A private record folder: any gateway that starts reaps every dead gateway's orphans, and
  // gateways of other tests (run in parallel on bigger machines) must not do it first.
  const env = { LLAMAWRAPPER_CACHE: await mkdtemp(join(tmpdir(), "llamawrapper-records-")) };
  const first = await startGateway(config, { env });
  assert.equal((await chat(first.url, "wrapped")).status, 200);
  const gatewayPid = first.process.pid ?? 0;
  const [wrapper, grandchild] = await waitFor("the wrapper and its grandchild", () => {
    const procs = descendants(gatewayPid);
    const direct = procs.find((p) => p.ppid === gatewayPid);
    const below = procs.find((p) => p.ppid !== gatewayPid);
    return direct && below ? [direct.pid, below.pid] : undefined;
  });
  first.process.kill("SIGKILL");
  // The direct child dies with its parent (pdeathsig, stdin EOF); the grandchild does not.
  await waitFor("the wrapper to die", () => (isAlive(wrapper) ? undefined : true), 10_000);
  assert.ok(
    isAlive(grandchild),
    "the grandchild outlives the gateway: this is what the runtime record is for",
  );
  const second = await startGateway(config, { dir: first.dir, env });
  try {
    await waitFor("the orphan to be reaped", () => (isAlive(grandchild) ? undefined : true), 10_000);
    // Log lines reach stdout in batches, at most 100 ms late.
    await waitFor("the log line about the reaping", () =>
      /stopped llama-server processes a previous run left behind/.test(second.output()) ? true : undefined,
    );
  } finally {
    assert.equal(await second.stop(), 0);
  }
});
