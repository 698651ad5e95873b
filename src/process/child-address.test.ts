import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ChildAddresses } from "./child-address.js";
import { ChildSockets } from "./child-sockets.js";

const parent = mkdtempSync(join(tmpdir(), "ca-"));
after(() => rmSync(parent, { recursive: true, force: true }));

test("sockets while the folder exists; after llama-server failed to bind one, TCP ports from then on", async () => {
  const sockets = ChildSockets.create(parent);
  assert.ok(sockets instanceof ChildSockets);
  const addresses = new ChildAddresses(sockets, async () => 4321);
  const first = await addresses.next();
  assert.equal(first.port, null);
  assert.ok(first.socket?.startsWith(sockets.dir));
  assert.equal(addresses.bindFailed(first), true, "a socket bind failure switches to TCP");
  assert.deepEqual(await addresses.next(), { port: 4321, socket: null });
  assert.equal(addresses.bindFailed({ port: 4321, socket: null }), false, "a port bind failure: just retry");
});

test("no folder (sockets off or unusable): always a port", async () => {
  const addresses = new ChildAddresses(null, async () => 5555);
  assert.deepEqual(await addresses.next(), { port: 5555, socket: null });
});
