import assert from "node:assert/strict";
import { request } from "node:http";
import { test } from "node:test";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { startGateway } from "../support/gateway-process.js";

/** Opens a long-lived GET (an SSE stream) and resolves once its headers arrived. */
function openStream(url: string, path: string): Promise<{ ended: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), (res) => {
      assert.equal(res.statusCode, 200, path);
      res.resume();
      resolve({ ended: new Promise<void>((done) => res.once("close", () => done())) });
    });
    req.once("error", reject);
    req.end();
  });
}

test("open dashboard and log-following streams do not hold a shutdown's drain", async () => {
  const g = await startGateway({
    server: { shutdownTimeout: "30s" },
    models: { m: { cmd: fakeCmd("--fake-tokens", "2") } },
  });
  const load = await fetch(new URL("/admin/models/m/load", g.url), { method: "POST" });
  assert.equal(load.status, 200);
  const events = await openStream(g.url, "/dashboard/api/events");
  const logs = await openStream(g.url, "/admin/models/m/logs?follow=1");
  const started = Date.now();
  const exited = g.stop(45_000);
  let ended = false;
  void Promise.all([events.ended, logs.ended]).then(() => {
    ended = true;
  });
  await waitFor("both viewers' streams to end", () => (ended ? true : undefined), 15_000);
  assert.equal(await exited, 0, g.output().slice(-2000));
  // Each ends within a second or two of the drain starting, not at its 30 s deadline.
  assert.ok(Date.now() - started < 10_000, `exited after ${Date.now() - started} ms`);
});
