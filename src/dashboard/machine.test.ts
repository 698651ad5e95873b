import assert from "node:assert/strict";
import { test } from "node:test";
import { MachineReader } from "./machine.js";

const noGpu = async () => ({ gpus: [], source: null, readAt: 0 });

test("the event-loop monitor runs while any viewer watches, and one leaving does not stop it for the others", async () => {
  const reader = new MachineReader(noGpu);
  const stream = reader.watch();
  const snapshot = reader.watch();
  snapshot();
  snapshot(); // a second stop of the same viewer changes nothing
  // Block the loop for a while: a running monitor sees it.
  await new Promise<void>((resolve) =>
    setTimeout(() => {
      const until = performance.now() + 60;
      while (performance.now() < until) {}
      setTimeout(resolve, 30);
    }, 30),
  );
  const read = await reader.read();
  assert.ok(read.eventLoopLagMs >= 40, `lag ${read.eventLoopLagMs} ms`);
  assert.ok(read.cpu.cores >= 1);
  assert.ok(read.memory.processRssBytes > 0);
  stream();
  assert.equal((await reader.read()).eventLoopLagMs, 0, "no viewer: no monitor");
});
