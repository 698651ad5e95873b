import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { after, test } from "node:test";
import pino from "pino";
import { waitFor } from "../../test/support/deadline.js";
import { closedBy, openRaw, type RawConnection, responseOn } from "../../test/support/raw-http.js";
import { descriptorWarning, guardConnections } from "./connection-guard.js";

/** A plain node:http server with the guard attached, as the shell attaches it; pending requests hang. */
async function guarded(maxConnections: number, maxConnectionsPerClient: number) {
  const lines: string[] = [];
  const log = pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  );
  const hanging: Array<() => void> = [];
  const server = createServer((req, res) => {
    if (req.url === "/hang") hanging.push(() => res.end("late"));
    else res.end("ok");
  });
  const guard = guardConnections(server, {
    limits: { maxConnections, maxConnectionsPerClient },
    log,
    descriptorLimit: () => null,
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  servers.push({
    server,
    release: () => {
      for (const end of hanging.splice(0)) end();
    },
  });
  return { server, guard, url, lines, pending: () => hanging.length };
}

const servers: Array<{ server: Server; release: () => void }> = [];
const sockets: RawConnection[] = [];

after(async () => {
  for (const connection of sockets) connection.socket.destroy();
  for (const { server, release } of servers) {
    release();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function open(url: string, localAddress?: string): Promise<RawConnection> {
  const connection = await openRaw(url, localAddress === undefined ? {} : { localAddress });
  sockets.push(connection);
  return connection;
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

test("at maxConnections of idle sockets, a new request is answered and the oldest idle socket goes", async () => {
  const { guard, url, lines } = await guarded(5, 100);
  const idle: RawConnection[] = [];
  for (let i = 0; i < 5; i++) idle.push(await open(url));
  await waitFor("the server to count 5 connections", () => (guard.size === 5 ? true : undefined));
  const fresh = await open(url);
  fresh.socket.write(GET("/health"));
  assert.equal((await responseOn(fresh, "the answer")).status, 200);
  await closedBy(idle[0] as RawConnection, "the oldest idle socket to be closed");
  assert.ok(
    idle.slice(1).every((c) => !c.closed()),
    "only the oldest one",
  );
  assert.equal(guard.size, 5);
  assert.ok(
    lines.some((l) => l.includes("connection cap reached")),
    "one warning about it",
  );
});

test("a keep-alive connection between requests is closed before a busy one", async () => {
  const { guard, url, pending } = await guarded(2, 100);
  const busy = await open(url);
  busy.socket.write(GET("/hang"));
  await waitFor("the request at the server", () => (pending() === 1 ? true : undefined));
  const used = await open(url);
  used.socket.write(GET("/health"));
  assert.equal((await responseOn(used, "the answer")).status, 200);
  // busy opened first, but it has a request in flight: used goes.
  const next = await open(url);
  next.socket.write(GET("/health"));
  assert.equal((await responseOn(next, "the answer")).status, 200);
  await closedBy(used, "the idle keep-alive connection to be closed");
  assert.equal(busy.closed(), false);
  assert.equal(guard.size, 2);
});

test("when every connection has a request in flight, a newcomer is closed unanswered", async () => {
  const { url, pending } = await guarded(2, 100);
  for (let i = 0; i < 2; i++) (await open(url)).socket.write(GET("/hang"));
  await waitFor("both requests at the server", () => (pending() === 2 ? true : undefined));
  const third = await open(url);
  third.socket.write(GET("/health"));
  await closedBy(third, "the newcomer to be closed");
  assert.equal(third.received(), "");
});

test("300 sockets from one address past its cap of 20 lock no one else out", async () => {
  const { guard, url } = await guarded(50, 20);
  const flood: RawConnection[] = [];
  for (let i = 0; i < 300; i++) flood.push(await open(url, "127.0.0.2"));
  await waitFor("the flood to be cut down to its cap", () =>
    flood.filter((c) => !c.closed()).length === 20 ? true : undefined,
  );
  // The newest 20 stay: each newcomer pushed out its client's longest-idle socket.
  assert.ok(flood.slice(-20).every((c) => !c.closed()));
  const other = await open(url);
  other.socket.write(GET("/health"));
  assert.equal((await responseOn(other, "the other client's answer")).status, 200);
  assert.ok(guard.size <= 50);
});

test("the descriptor warning: a cap the limit cannot hold, or a low limit", () => {
  assert.match(descriptorWarning(4096, 1024) ?? "", /maxConnections is 4096 .* room for about 384/);
  assert.match(descriptorWarning(384, 1024) ?? "", /allows only 384 client connections/);
  assert.equal(descriptorWarning(100, 1024), null, "a cap set lower on purpose");
  assert.equal(descriptorWarning(9872, 20_000), null);
  assert.equal(descriptorWarning(4096, null), null, "limit unknown");
});
