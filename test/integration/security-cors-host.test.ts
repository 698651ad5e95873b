import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import type { Json } from "../fixtures/fake/client.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { childGroups, groupMembers } from "../support/process-tree.js";

const KEY = "sk-cors-0123456789";

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** node:http, because fetch will not send a Host header of our choosing. */
function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}

const CHAT = JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 2 });

/**
 * Browser-facing guards through the real gateway: CORS (preflight before auth, allowed origins
 * exact or by pattern, foreign origins refused, admin routes never cross-origin) and the Host
 * check that keeps a DNS-rebinding page away from a gateway on loopback.
 */
describe("CORS and the Host check", () => {
  let gateway: RunningGateway;
  let host: string;

  before(async () => {
    gateway = await startGateway({
      server: { allowedHosts: ["gateway.internal"], upstreamPassthrough: true },
      cors: { origins: ["https://app.example.com", "https://*.tools.example.com"] },
      auth: { apiKeys: [KEY], adminKeys: [{ name: "ops", key: "sk-cors-admin-0123" }] },
      models: { m: { cmd: fakeCmd() } },
    });
    host = new URL(gateway.url).host;
  });

  after(async () => {
    const groups = childGroups(gateway.process.pid ?? 0);
    assert.equal(await gateway.stop(), 0, gateway.output().slice(-3000));
    assert.deepEqual(groupMembers(groups), []);
  });

  const preflight = (origin: string, path = "/v1/chat/completions") =>
    send(gateway.url, "OPTIONS", path, {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    });

  test("a preflight from an allowed origin is answered without a key (browsers send none)", async () => {
    for (const origin of ["https://app.example.com", "https://team-a.tools.example.com"]) {
      const res = await preflight(origin);
      assert.equal(res.status, 204, origin);
      assert.equal(res.headers["access-control-allow-origin"], origin);
      assert.match(String(res.headers["access-control-allow-methods"]), /POST/);
      assert.equal(res.headers["access-control-allow-headers"], "authorization, content-type");
      assert.ok(Number(res.headers["access-control-max-age"]) > 0);
      assert.ok(res.headers["x-request-id"]);
    }
  });

  test("the actual request from an allowed origin gets CORS headers that expose the request id", async () => {
    const res = await send(
      gateway.url,
      "POST",
      "/v1/chat/completions",
      {
        origin: "https://app.example.com",
        authorization: `Bearer ${KEY}`,
        "content-type": "application/json",
      },
      CHAT,
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers["access-control-allow-origin"], "https://app.example.com");
    assert.match(String(res.headers["access-control-expose-headers"]), /x-request-id/);
    // A browser client can read what the cache and the scheduler did.
    assert.match(String(res.headers["access-control-expose-headers"]), /x-cache.*x-gateway-route/);
    assert.match(String(res.headers.vary), /Origin/);
  });

  test("foreign origins are refused, a key does not help; a same-origin page needs no CORS", async () => {
    for (const origin of ["https://evil.example", "https://tools.example.com.evil.example", "null"]) {
      const pre = await preflight(origin);
      assert.equal(pre.status, 403, origin);
      assert.equal(pre.headers["access-control-allow-origin"], undefined);
      const actual = await send(
        gateway.url,
        "POST",
        "/v1/chat/completions",
        { origin, authorization: `Bearer ${KEY}`, "content-type": "application/json" },
        CHAT,
      );
      assert.equal(actual.status, 403, origin);
      assert.equal((JSON.parse(actual.body) as Json).error.type, "permission_error");
    }
    const same = await send(
      gateway.url,
      "POST",
      "/v1/chat/completions",
      { origin: gateway.url, authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      CHAT,
    );
    assert.equal(same.status, 200);
    assert.equal(same.headers["access-control-allow-origin"], undefined);
  });

  test("admin routes are never CORS-enabled, even for an allowed origin with an admin key", async () => {
    for (const path of ["/admin/status", "/upstream/m/v1/models"]) {
      const pre = await preflight("https://app.example.com", path);
      assert.equal(pre.status, 403, path);
      assert.equal(pre.headers["access-control-allow-origin"], undefined);
      const actual = await send(gateway.url, "GET", path, {
        origin: "https://app.example.com",
        authorization: "Bearer sk-cors-admin-0123",
      });
      assert.equal(actual.status, 403, path);
      assert.equal(actual.headers["access-control-allow-origin"], undefined);
    }
    const noOrigin = await send(gateway.url, "GET", "/upstream/m/v1/models", {
      authorization: "Bearer sk-cors-admin-0123",
    });
    assert.equal(noOrigin.status, 200, "the same route works for a non-browser client");
  });

  test("bound to loopback: a Host that is not loopback or allowedHosts is refused (DNS rebinding)", async () => {
    const port = new URL(gateway.url).port;
    for (const name of ["evil.example", `evil.example:${port}`, `127.0.0.1.evil.example:${port}`]) {
      const res = await send(gateway.url, "GET", "/health", { host: name });
      assert.equal(res.status, 403, name);
      assert.match((JSON.parse(res.body) as Json).error.message, /allowedHosts/);
    }
    for (const name of [host, `localhost:${port}`, `gateway.internal:${port}`, "GATEWAY.internal"]) {
      const res = await send(gateway.url, "GET", "/health", { host: name });
      assert.equal(res.status, 200, name);
    }
  });
});

test('cors origin "*" with credentials: the gateway refuses to start, naming the key', async () => {
  await assert.rejects(
    startGateway({ cors: { origins: ["*"], credentials: true }, models: { m: { cmd: fakeCmd() } } }),
    (error: Error) => /exited with 3/.test(error.message) && /cors\.credentials/.test(error.message),
  );
});
