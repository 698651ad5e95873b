/**
 * `model:` children on Unix sockets with a fake llama-server behind `llamaServer.binary` (a
 * wrapper script): the socket folder a SIGKILLed gateway left behind is removed by the next
 * start (the runtime record names it), and a llama-server that cannot bind a socket is logged
 * once per instance as it falls back to a TCP port.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type Json, postJson } from "../fixtures/fake/client.js";
import { admin, modelStatus } from "../support/admin-client.js";
import { waitFor } from "../support/deadline.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { groupMembers, isAlive } from "../support/process-tree.js";

const FAKE = new URL("../fixtures/fake-llama-server.ts", import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), "lw-sock-fake-"));
const groups = new Set<number>();
after(() => {
  for (const { pgid } of groupMembers([...groups])) if (pgid > 1) process.kill(-pgid, "SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

/** Runs the fake; with `refuseSockets`, fails a `.sock` --host as an old llama-server does. */
function wrapper(name: string, refuseSockets: boolean): string {
  const path = join(root, name);
  const refuse = refuseSockets
    ? `for a in "$@"; do case "$a" in *.sock) echo "srv          start: couldn't bind HTTP server socket, hostname: $a, port: 8080" >&2; exit 1;; esac; done\n`
    : "";
  const tsx = import.meta.resolve("tsx");
  writeFileSync(path, `#!/bin/sh\n${refuse}exec '${process.execPath}' --import '${tsx}' '${FAKE}' "$@"\n`, {
    mode: 0o755,
  });
  return path;
}

/** A fresh folder under the test's own: a gateway's config folder. */
function folder(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir);
  return dir;
}

const modelFile = join(root, "m.gguf");
writeFileSync(modelFile, "");

/** Its own temp folder (the gateway makes its socket folder there) and record folder. */
function environment(name: string): { tmp: string; env: NodeJS.ProcessEnv } {
  const tmp = join(root, name);
  mkdirSync(tmp);
  return { tmp, env: { TMPDIR: tmp, LLAMAWRAPPER_CACHE: join(root, `${name}-cache`) } };
}

async function chat(g: RunningGateway): Promise<void> {
  const res = await postJson(g.url, "/v1/chat/completions", {
    model: "m",
    messages: [{ role: "user", content: "hi" }],
    max_tokens: 4,
  });
  assert.equal(res.status, 200, await res.clone().text());
  await res.arrayBuffer();
}

async function instances(g: RunningGateway, key?: string): Promise<Json[]> {
  return (await modelStatus(g, "m", key)).instances as Json[];
}

const socketFolders = (tmp: string) => readdirSync(tmp).filter((name) => name.startsWith("llamawrapper-"));

test("the socket folder of a SIGKILLed gateway is removed by the next start", async () => {
  const { tmp, env } = environment("killed");
  const config = { llamaServer: { binary: wrapper("fake", false) }, models: { m: { model: modelFile } } };
  const first = await startGateway(config, { env, dir: folder("a") });
  await chat(first);
  const [instance] = await instances(first);
  const socket = String(instance?.socket);
  const pid = Number(instance?.pid);
  groups.add(pid);
  assert.ok(statSync(socket).isSocket(), "the child listens on a socket in the gateway's folder");
  const [left] = socketFolders(tmp);
  assert.ok(left !== undefined && socket.startsWith(join(tmp, left)));
  first.process.kill("SIGKILL");
  await waitFor("the child to die with its gateway", () => (isAlive(pid) ? undefined : true), 10_000);
  assert.ok(existsSync(socket), "a SIGKILLed gateway leaves its folder and the dead socket behind");
  const second = await startGateway(config, { env, dir: folder("b") });
  try {
    assert.equal(existsSync(join(tmp, left)), false, "the next start removed the folder");
    assert.match(await second.loggedOutput(), /removed the socket folder of an earlier run/);
    assert.equal(socketFolders(tmp).length, 1, "only the new gateway's own folder is left");
  } finally {
    assert.equal(await second.stop(), 0);
  }
  assert.deepEqual(socketFolders(tmp), [], "a graceful stop removes its folder");
});

test("a llama-server that cannot bind a socket falls back to TCP, logged once per instance", async () => {
  const { env } = environment("refused");
  const ADMIN = "admin-secret-1";
  const g = await startGateway(
    {
      auth: { adminKeys: [ADMIN] },
      llamaServer: { binary: wrapper("old-fake", true) },
      models: { m: { model: modelFile, instances: 2 } },
    },
    { env, dir: folder("c") },
  );
  try {
    const load = async () => {
      const loaded = await admin(g, "POST", "/admin/models/m/load", { key: ADMIN });
      assert.equal(loaded.status, 200, JSON.stringify(loaded.body));
      const ready = await instances(g, ADMIN);
      for (const i of ready) groups.add(Number(i.pid));
      return ready;
    };
    for (const i of await load()) {
      assert.equal(i.socket, null, "on a port after the socket was refused");
      assert.equal(typeof i.port, "number");
    }
    // A second load spawns on ports at once: nothing more to say.
    assert.equal((await admin(g, "POST", "/admin/models/m/unload", { key: ADMIN })).status, 200);
    await load();
    const warnings = (await g.loggedOutput())
      .split("\n")
      .filter((line) =>
        line.includes("cannot listen on a Unix socket: this instance uses a loopback TCP port"),
      )
      .map((line) => JSON.parse(line) as Json);
    assert.deepEqual(warnings.map((w) => [w.level, w.instance]).sort(), [
      [40, "m#0"],
      [40, "m#1"],
    ]);
  } finally {
    assert.equal(await g.stop(), 0);
  }
});
