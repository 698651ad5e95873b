import assert from "node:assert/strict";
import { test } from "node:test";
import { postJson, readAll, sseData } from "../fixtures/fake/client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { startGateway } from "../support/gateway-process.js";
import { childGroups, groupMembers } from "../support/process-tree.js";

/** Graceful shutdown: SIGTERM drains running streams; a second signal stops at once. */

function chat(url: string, model: string) {
  return postJson(url, "/v1/chat/completions", {
    model,
    stream: true,
    messages: [{ role: "user", content: "hi" }],
  });
}

test("SIGTERM during 20 running streams lets them all finish within the drain and leaves no child", async () => {
  const g = await startGateway({
    server: { shutdownTimeout: "30s" },
    models: { m: { cmd: fakeCmd("--fake-tokens", "30", "--fake-token-delay-ms", "30"), maxConcurrent: 32 } },
  });
  const streams = await Promise.all(Array.from({ length: 20 }, () => chat(g.url, "m")));
  for (const res of streams) assert.equal(res.status, 200);
  const readings = streams.map((res) => readAll(res));
  const groups = childGroups(g.process.pid ?? 0);
  assert.ok(groups.length > 0);
  const started = Date.now();
  const exited = g.stop(45_000);
  // The signal is handled asynchronously: a request sent before it lands is served (200).
  await waitFor("the drain to begin", () => (g.output().includes("shutting down") ? true : undefined));
  // New requests are refused while draining (or find the socket closed).
  const late = await postJson(g.url, "/v1/chat/completions", { model: "m", messages: [] }).catch(() => null);
  if (late !== null) assert.equal(late.status, 503);
  for (const reading of readings) {
    const result = await reading;
    assert.equal(result.error, undefined);
    const events = sseData(result.text);
    assert.equal(events.at(-1), "[DONE]");
    assert.ok(!events.some((e) => e.includes('"error"')), "no stream was cut");
  }
  assert.equal(await exited, 0, g.output().slice(-2000));
  assert.ok(Date.now() - started < 30_000, "it exited when the streams were done, not at the drain deadline");
  await waitFor(
    "every child to be gone",
    () => (groupMembers(groups).length === 0 ? true : undefined),
    5_000,
  );
});

test("a second SIGTERM stops at once: an open stream ends with an in-band error and [DONE]", async () => {
  const g = await startGateway({
    server: { shutdownTimeout: "60s" },
    models: { m: { cmd: fakeCmd("--fake-tokens", "2000", "--fake-token-delay-ms", "20") } },
  });
  const res = await chat(g.url, "m");
  assert.equal(res.status, 200);
  const reading = readAll(res);
  const groups = childGroups(g.process.pid ?? 0);
  const started = Date.now();
  g.process.kill("SIGTERM");
  await waitFor("the drain to begin", () => (g.output().includes("shutting down") ? true : undefined));
  const exited = g.stop(20_000);
  const result = await reading;
  const events = sseData(result.text);
  assert.equal(events.at(-1), "[DONE]", result.text.slice(-300));
  const error = events.find((e) => e.includes('"error"'));
  assert.ok(error !== undefined, "the stream says why it ended");
  assert.match(error, /shutting_down/);
  assert.equal(await exited, 0);
  assert.ok(Date.now() - started < 15_000, "the second signal did not wait for the 60 s drain");
  await waitFor(
    "every child to be gone",
    () => (groupMembers(groups).length === 0 ? true : undefined),
    5_000,
  );
});

test("when the drain time runs out, open streams end with an in-band error instead of a cut connection", async () => {
  const g = await startGateway({
    server: { shutdownTimeout: "1s" },
    models: { m: { cmd: fakeCmd("--fake-tokens", "2000", "--fake-token-delay-ms", "20") } },
  });
  const res = await chat(g.url, "m");
  const reading = readAll(res);
  const exited = g.stop(20_000);
  const result = await reading;
  assert.equal(result.error, undefined, "the connection was not cut");
  const events = sseData(result.text);
  assert.equal(events.at(-1), "[DONE]");
  assert.match(events.at(-2) ?? "", /shutting_down/);
  assert.equal(await exited, 0);
});

test("idle keep-alive connections do not hold up the shutdown", async () => {
  const g = await startGateway({ server: { shutdownTimeout: "30s" }, models: { m: { cmd: fakeCmd() } } });
  const { Agent, request } = await import("undici");
  const agent = new Agent({ keepAliveTimeout: 60_000 });
  const res = await request(`${g.url}/health`, { dispatcher: agent });
  await res.body.text();
  const started = Date.now();
  assert.equal(await g.stop(20_000), 0);
  assert.ok(Date.now() - started < 5_000, "an idle keep-alive connection was closed, not waited for");
  await agent.close();
});
