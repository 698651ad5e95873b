import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { postJson } from "../fixtures/fake/client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { descendants, groupMembers, isAlive } from "../support/process-tree.js";

/**
 * Runtime records are per user, one per gateway process, not per config path: a start finds
 * what any SIGKILLed gateway left behind whatever path its config was given by, leaves live
 * gateways' children alone, and refuses to serve a file a live gateway serves (by any path).
 */
const root = mkdtempSync(join(tmpdir(), "llamawrapper-any-path-"));
// A private record folder: other test files' gateways neither reap these records nor add theirs.
const env = { LLAMAWRAPPER_CACHE: join(root, "cache") };
const recordOf = (g: RunningGateway) => join(root, "cache", "run", `gateway-${g.process.pid}.json`);
const config = { models: { wrapped: { cmd: fakeCmd("--fake-spawn-grandchild") } } };
const groups = new Set<number>();

after(() => {
  // Whatever a failed test left: the wrappers' groups hold the grandchildren.
  for (const { pgid } of groupMembers([...groups])) if (pgid > 1) process.kill(-pgid, "SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

function folder(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  return dir;
}

/** Loads the wrapped model; resolves with the wrapper (the gateway's child) and its grandchild. */
async function wrapperTree(g: RunningGateway): Promise<[wrapper: number, grandchild: number]> {
  const res = await postJson(g.url, "/v1/chat/completions", {
    model: "wrapped",
    messages: [{ role: "user", content: "hi" }],
    max_tokens: 4,
  });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  const gatewayPid = g.process.pid ?? 0;
  const tree = await waitFor("the wrapper and its grandchild", () => {
    const procs = descendants(gatewayPid);
    const direct = procs.find((p) => p.ppid === gatewayPid && p.pid === p.pgid);
    const below = procs.find((p) => direct !== undefined && p.ppid === direct.pid);
    return direct && below ? ([direct.pid, below.pid] as [number, number]) : undefined;
  });
  groups.add(tree[0]);
  return tree;
}

test("a SIGKILLed gateway's wrapper grandchild is stopped by a start from a symlink in another folder", async () => {
  const first = await startGateway(config, { env, dir: folder("a") });
  const [wrapper, grandchild] = await wrapperTree(first);
  assert.ok(existsSync(recordOf(first)), "the record is named after the gateway's pid");
  first.process.kill("SIGKILL");
  // The wrapper dies with its parent (pdeathsig, stdin EOF); its grandchild does not.
  await waitFor("the wrapper to die", () => (isAlive(wrapper) ? undefined : true), 10_000);
  assert.ok(isAlive(grandchild), "the grandchild outlives the gateway: this is what records are for");
  const link = join(folder("b"), "link.yaml");
  symlinkSync(join(first.dir, "config.yaml"), link);
  const second = await startGateway({}, { env, configFile: link });
  try {
    await waitFor("the orphan to be reaped", () => (isAlive(grandchild) ? undefined : true), 10_000);
    assert.deepEqual(groupMembers([wrapper]), []);
    assert.equal(existsSync(recordOf(first)), false, "the dead gateway's record is deleted");
    assert.match(await second.loggedOutput(), /stopped llama-server processes a previous run left behind/);
  } finally {
    assert.equal(await second.stop(), 0);
  }
});

test("a live gateway's children are left alone; its file by a symlink is refused, a copy is not", async () => {
  const first = await startGateway(config, { env, dir: folder("c") });
  try {
    const [wrapper, grandchild] = await wrapperTree(first);
    const other = folder("d");
    const link = join(other, "link.yaml");
    symlinkSync(join(first.dir, "config.yaml"), link);
    await assert.rejects(
      startGateway({}, { env, configFile: link }),
      new RegExp(`another llamawrapper \\(pid ${first.process.pid}\\) is already serving this config file`),
    );
    const copy = join(other, "copy.yaml");
    copyFileSync(join(first.dir, "config.yaml"), copy);
    // Another file with the same content is another config: it may run (on its own port).
    const second = await startGateway({}, { env, configFile: copy });
    assert.equal(await second.stop(), 0);
    assert.ok(isAlive(wrapper) && isAlive(grandchild), "the live gateway's children survive both starts");
    assert.ok(existsSync(recordOf(first)), "and so does its record");
  } finally {
    assert.equal(await first.stop(), 0);
  }
  assert.equal(existsSync(recordOf(first)), false, "a clean stop deletes the record");
});
