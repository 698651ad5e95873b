/**
 * `model:` children on Unix sockets (process/child-sockets.ts) with the real llama-server: the
 * socket in a private 0700 folder and no TCP port, requests, readiness, the metrics scrape and a
 * crash + restart over the socket, the folder gone after shutdown; and `sockets: false`.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { type Json, postJson } from "../fixtures/fake/client.js";
import { modelStatus } from "../support/admin-client.js";
import { testAssets } from "../support/assets.js";
import { waitFor } from "../support/deadline.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";

const assets = await testAssets();
// The gateway makes its socket folder in TMPDIR: a folder of the test's own, to look into.
const tmp = mkdtempSync(join(tmpdir(), "lw-sock-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const tiny = { model: assets.tinyModel, args: ["-c", "512", "-np", "1"], metrics: true };

async function chat(g: RunningGateway): Promise<void> {
  const res = await postJson(g.url, "/v1/chat/completions", {
    model: "tiny",
    messages: [{ role: "user", content: "hi" }],
    max_tokens: 4,
  });
  assert.equal(res.status, 200, await res.clone().text());
  await res.arrayBuffer();
}

async function readyInstance(g: RunningGateway): Promise<Json> {
  const model = await modelStatus(g, "tiny");
  const [instance] = model.instances as Json[];
  assert.ok(instance !== undefined);
  return instance;
}

/** Inodes of the TCP sockets in LISTEN state (IPv4 and IPv6) on this machine. */
function listeningTcpInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === "0A" && fields[9] !== undefined) inodes.add(fields[9]);
    }
  }
  return inodes;
}

/** The socket inodes process `pid` holds open. */
function socketInodes(pid: number): string[] {
  return readdirSync(`/proc/${pid}/fd`)
    .map((fd) => {
      try {
        return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      } catch {
        return undefined;
      }
    })
    .filter((inode): inode is string => inode !== undefined);
}

function argv(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
}

test("a model: child serves on a Unix socket in a private folder: requests, metrics, crash and restart, folder removed at exit", async () => {
  const g = await startGateway(
    { llamaServer: { binary: assets.llamaServer }, models: { tiny } },
    { env: { TMPDIR: tmp } },
  );
  let folder = "";
  try {
    await chat(g);
    const first = await readyInstance(g);
    assert.equal(first.state, "ready");
    assert.equal(first.port, null, "no TCP port");
    const socket = String(first.socket);
    folder = dirname(socket);
    assert.equal(dirname(folder), tmp, "the folder is made in TMPDIR");
    assert.equal(statSync(folder).mode & 0o777, 0o700, "only the gateway's user can enter it");
    assert.ok(statSync(socket).isSocket());
    const pid = Number(first.pid);
    const args = argv(pid);
    assert.equal(args[args.indexOf("--host") + 1], socket, "--host is the socket path");
    assert.ok(!args.includes("--port"), args.join(" "));
    const listening = listeningTcpInodes();
    assert.deepEqual(
      socketInodes(pid).filter((inode) => listening.has(inode)),
      [],
      "the child listens on no TCP port",
    );

    // The scrape reaches the child over its socket.
    const metrics = await (await fetch(`${g.url}/metrics`)).text();
    assert.match(metrics, /llamacpp:prompt_tokens_total\{[^}]*model="tiny"/);

    // A crash: the restart gets a new socket, the old file is gone, requests work again.
    process.kill(pid, "SIGKILL");
    const second = await waitFor(
      "the restarted child to be ready",
      async () => {
        const instance = await readyInstance(g);
        return instance.state === "ready" && instance.pid !== pid ? instance : undefined;
      },
      60_000,
      50,
    );
    assert.notEqual(second.socket, socket, "a fresh socket for each spawn");
    assert.equal(dirname(String(second.socket)), folder);
    assert.equal(existsSync(socket), false, "the crashed child's socket file was removed");
    await chat(g);
  } finally {
    assert.equal(await g.stop(), 0);
  }
  assert.ok(folder !== "");
  assert.equal(existsSync(folder), false, "the socket folder is removed at shutdown");
});

test("llamaServer.sockets: false keeps children on loopback TCP ports", async () => {
  const g = await startGateway(
    { llamaServer: { binary: assets.llamaServer, sockets: false }, models: { tiny } },
    { env: { TMPDIR: tmp } },
  );
  try {
    await chat(g);
    const instance = await readyInstance(g);
    assert.equal(instance.socket, null);
    assert.ok(typeof instance.port === "number" && instance.port > 0);
    const args = argv(Number(instance.pid));
    assert.equal(args[args.indexOf("--host") + 1], "127.0.0.1");
    assert.equal(args[args.indexOf("--port") + 1], String(instance.port));
    const metrics = await (await fetch(`${g.url}/metrics`)).text();
    assert.match(metrics, /llamacpp:prompt_tokens_total\{[^}]*model="tiny"/);
  } finally {
    assert.equal(await g.stop(), 0);
  }
});
