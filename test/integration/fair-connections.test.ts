import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { postJson } from "../fixtures/fake/client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { closedBy, openRaw, type RawConnection, responseOn } from "../support/raw-http.js";
import { stopClean } from "../support/stop-clean.js";

const KEY = "sk-fair-0123456789";

/**
 * Issue 17, finding 6: 500 idle sockets with maxConnections 500 made /health and every request
 * fail for 20 s. Through the real gateway: at the cap the longest-idle connection makes room for a
 * newcomer, one address cannot hold more than maxConnectionsPerClient, and connections with a
 * request in flight are never the ones closed. Other loopback addresses (127.0.0.x) stand for
 * other clients.
 */
describe("fair connections", () => {
  let gateway: RunningGateway;
  const sockets: RawConnection[] = [];

  before(async () => {
    gateway = await startGateway({
      server: { maxConnections: 50, maxConnectionsPerClient: 20 },
      auth: { apiKeys: [KEY] },
      models: {
        fast: { cmd: fakeCmd() },
        // A stream of about 10 s: its connection has a request in flight all that time.
        slow: { cmd: fakeCmd("--fake-tokens", "50", "--fake-token-delay-ms", "200") },
      },
    });
  });

  after(async () => {
    for (const connection of sockets) connection.socket.destroy();
    await stopClean(gateway);
  });

  async function idle(count: number, address: (i: number) => string): Promise<RawConnection[]> {
    const opened: RawConnection[] = [];
    for (let i = 0; i < count; i++) opened.push(await openRaw(gateway.url, { localAddress: address(i) }));
    sockets.push(...opened);
    return opened;
  }

  const closeAll = async (connections: RawConnection[]) => {
    for (const connection of connections) connection.socket.destroy();
  };

  const chat = () =>
    postJson(
      gateway.url,
      "/v1/chat/completions",
      { model: "fast", messages: [{ role: "user", content: "hi" }], max_tokens: 2 },
      {
        headers: { authorization: `Bearer ${KEY}`, connection: "close" },
        signal: AbortSignal.timeout(10_000),
      },
    );

  test("50 idle sockets at maxConnections 50: /health and a keyed chat request are still answered", async () => {
    // 10 each from five addresses: the total cap is full, no client's own cap is.
    const flood = await idle(50, (i) => `127.0.0.${10 + (i % 5)}`);
    const health = await fetch(`${gateway.url}/health`, {
      headers: { connection: "close" },
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(health.status, 200);
    await health.arrayBuffer();
    const answer = await chat();
    assert.equal(answer.status, 200);
    await answer.arrayBuffer();
    // Each newcomer pushed out the flood's longest-idle socket, the oldest first.
    await waitFor("the oldest idle sockets to be closed", () => (flood[0]?.closed() ? true : undefined));
    const closed = flood.filter((c) => c.closed()).length;
    assert.ok(closed >= 1 && closed <= 3, `${closed} idle sockets closed for 2 or 3 newcomers`);
    await closeAll(flood);
  });

  test("300 sockets from one address past its cap of 20 do not lock out another client", async () => {
    const flood = await idle(300, () => "127.0.0.2");
    await waitFor("the flood to be cut to its cap", () =>
      flood.filter((c) => !c.closed()).length === 20 ? true : undefined,
    );
    const answer = await chat();
    assert.equal(answer.status, 200);
    await answer.arrayBuffer();
    // The flooding address itself still gets in, at the cost of its own idlest socket.
    const own = await openRaw(gateway.url, { localAddress: "127.0.0.2" });
    sockets.push(own);
    own.socket.write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert.equal((await responseOn(own, "the flooding client's own request")).status, 200);
    await closeAll(flood);
  });

  test("a connection with a request in flight is never the one closed", async () => {
    const busy = await openRaw(gateway.url, { localAddress: "127.0.0.3" });
    sockets.push(busy);
    const body = JSON.stringify({ model: "slow", stream: true, messages: [{ role: "user", content: "hi" }] });
    busy.socket.write(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        `Authorization: Bearer ${KEY}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    await waitFor("the stream to start", () =>
      busy.received().startsWith("HTTP/1.1 200") ? true : undefined,
    );
    const flood = await idle(60, (i) => `127.0.0.${20 + (i % 5)}`);
    const answer = await chat();
    assert.equal(answer.status, 200);
    await answer.arrayBuffer();
    await closedBy(flood[0] as RawConnection, "the oldest idle socket to be closed");
    assert.equal(busy.closed(), false, "the oldest connection, but busy");
    assert.ok(!busy.received().includes("data: [DONE]"), "still streaming when the others were closed");
    await closeAll(flood);
  });
});
