import assert from "node:assert/strict";
import { test } from "node:test";
import { runStep, stepContext } from "../../../test/support/step-context.js";
import { isLoopbackBind, isLoopbackHost } from "../../security/loopback.js";
import { hostCheck, hostName } from "./host-check.js";

test("hostName: lower case, without port, brackets or trailing dot", () => {
  assert.equal(hostName("LocalHost:8080"), "localhost");
  assert.equal(hostName("[::1]:8080"), "::1");
  assert.equal(hostName("[::1]"), "::1");
  assert.equal(hostName("example.com."), "example.com");
  assert.equal(hostName(" 127.0.0.1 "), "127.0.0.1");
});

test("loopback names: localhost, *.localhost, 127/8, ::1; look-alikes are not", () => {
  for (const host of [
    "localhost",
    "app.localhost",
    "127.0.0.1",
    "127.9.9.9",
    "::1",
    "[::1]",
    "::ffff:127.0.0.1",
  ]) {
    assert.equal(isLoopbackHost(host), true, host);
  }
  for (const host of [
    "localhost.evil.com",
    "127.0.0.1.nip.io",
    "evil.com",
    "0.0.0.0",
    "::",
    "10.0.0.1",
    "128.0.0.1",
  ]) {
    assert.equal(isLoopbackHost(host), false, host);
  }
  assert.equal(isLoopbackBind("127.0.0.1"), true);
  assert.equal(isLoopbackBind("0.0.0.0"), false);
});

async function verdict(server: { host: string; allowedHosts: string[] }, host: string | undefined) {
  const step = hostCheck(server);
  if (step === null) return "no check";
  const { ctx } = stepContext({ headers: host === undefined ? {} : { host } });
  return runStep(step, ctx);
}

test("bound to loopback: a foreign Host (DNS rebinding) is refused, loopback names pass", async () => {
  const server = { host: "127.0.0.1", allowedHosts: [] };
  assert.equal(await verdict(server, "evil.example.com"), "forbidden");
  assert.equal(await verdict(server, "evil.example.com:8080"), "forbidden");
  assert.equal(await verdict(server, "127.0.0.1.evil.com"), "forbidden");
  assert.equal(await verdict(server, "localhost:8080"), "passed");
  assert.equal(await verdict(server, "127.0.0.1:8080"), "passed");
  assert.equal(await verdict(server, "[::1]:8080"), "passed");
  assert.equal(await verdict(server, undefined), "passed", "no Host: not a browser");
});

test("server.allowedHosts adds names, any case, any port", async () => {
  const server = { host: "::1", allowedHosts: ["gateway.internal"] };
  assert.equal(await verdict(server, "Gateway.Internal:8080"), "passed");
  assert.equal(await verdict(server, "other.internal"), "forbidden");
});

test("on a network address there is no check unless allowedHosts is set", async () => {
  assert.equal(await verdict({ host: "0.0.0.0", allowedHosts: [] }, "anything.example"), "no check");
  assert.equal(
    await verdict({ host: "0.0.0.0", allowedHosts: ["gw.example"] }, "anything.example"),
    "forbidden",
  );
  assert.equal(await verdict({ host: "0.0.0.0", allowedHosts: ["gw.example"] }, "gw.example"), "passed");
});
