import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Agent } from "undici";
import { ChildSockets, MAX_SOCKET_PATH, socketFactory, socketOrigin } from "./child-sockets.js";
import { target } from "./supervisor-types.js";

const parent = mkdtempSync(join(tmpdir(), "cs-"));
after(() => rmSync(parent, { recursive: true, force: true }));

function folder(): ChildSockets {
  const sockets = ChildSockets.create(parent);
  assert.ok(sockets instanceof ChildSockets, JSON.stringify(sockets));
  return sockets;
}

test("a fresh private folder per gateway (0700), a new socket path per spawn, removed at the end", () => {
  const sockets = folder();
  assert.equal(statSync(sockets.dir).mode & 0o777, 0o700);
  assert.notEqual(folder().dir, sockets.dir, "each run its own folder: a killed run's sockets never collide");
  const a = sockets.next();
  const b = sockets.next();
  assert.notEqual(a, b);
  assert.ok(a.startsWith(`${sockets.dir}/`) && a.endsWith(".sock"));
  assert.ok(Buffer.byteLength(a) <= MAX_SOCKET_PATH);
  writeFileSync(a, "");
  sockets.release(a);
  assert.equal(existsSync(a), false, "a crashed child's socket file is removed");
  sockets.remove();
  assert.equal(existsSync(sockets.dir), false);
});

test("a socket child's origin maps back to its socket; any other origin is TCP (null)", () => {
  const sockets = folder();
  const path = sockets.next();
  const origin = socketOrigin(path);
  assert.match(origin, /^http:\/\/[0-9a-f]{12}\.sock\.localhost$/);
  assert.equal(sockets.pathOf(origin), path);
  assert.equal(sockets.pathOf(new URL(origin)), path);
  assert.equal(sockets.pathOf("http://127.0.0.1:8080"), null);
  assert.equal(sockets.pathOf("https://gpu-box:8080"), null);
  assert.equal(sockets.pathOf("http://..%2Fetc.sock.localhost"), null, "only labels the folder makes");
  assert.equal(sockets.pathOf("not a url"), null);
  assert.deepEqual(target({ port: null, socket: path, apiKey: "k" }, "/health"), { origin, path: "/health" });
  assert.deepEqual(target({ port: 4321, apiKey: "k" }, "/health"), {
    origin: "http://127.0.0.1:4321",
    path: "/health",
  });
});

test("a folder whose socket paths would not fit in sun_path is refused: children stay on TCP", () => {
  const deep = join(parent, "x".repeat(80));
  const result = ChildSockets.create(deep);
  assert.ok(!(result instanceof ChildSockets));
  assert.match(result.unusable, /over the 107 bytes|over the 107/);
  assert.equal(existsSync(deep), false, "nothing was made");
});

test("the Agent's factory sends a socket child's requests over its socket and others over TCP", async (t) => {
  const sockets = folder();
  const path = sockets.next();
  const onSocket = createServer((req, res) => res.end(`socket ${req.headers.host}`));
  const onPort = createServer((_req, res) => res.end("tcp"));
  await new Promise<void>((resolve) => onSocket.listen(path, resolve));
  await new Promise<void>((resolve) => onPort.listen(0, "127.0.0.1", resolve));
  const agent = new Agent({ factory: socketFactory(sockets) });
  t.after(async () => {
    await agent.destroy();
    onSocket.close();
    onPort.close();
    sockets.remove();
  });
  const get = async (endpoint: Parameters<typeof target>[0]) => {
    const res = await agent.request({ ...target(endpoint, "/"), method: "GET" });
    return res.body.text();
  };
  const port = (onPort.address() as { port: number }).port;
  assert.equal(
    await get({ port: null, socket: path, apiKey: "" }),
    `socket ${new URL(socketOrigin(path)).host}`,
  );
  assert.equal(await get({ port, apiKey: "" }), "tcp");
  // A child that is gone: its socket file is too, so a late request fails like a refused connection.
  onSocket.close();
  sockets.release(path);
  const gone = sockets.next();
  await assert.rejects(get({ port: null, socket: gone, apiKey: "" }), /ENOENT|ECONNREFUSED/);
});
