import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type Json, postJson } from "../fixtures/fake/client.js";
import { pidsOf } from "../support/admin-client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { stopClean } from "../support/stop-clean.js";

const dir = mkdtempSync(join(tmpdir(), "llamawrapper-recovery-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A wrapper that fails at once while `flag` exists (like a llama-server whose GPU memory another
 * process still holds), and runs the fake llama-server once it is gone.
 */
function flaggedWrapper(flag: string): string[] {
  const script = join(dir, "wrapper.sh");
  writeFileSync(
    script,
    'if [ -e "$1" ]; then echo "wrapper: $1 exists, cannot start" >&2; exit 3; fi\nshift\nexec "$@"\n',
  );
  return ["/bin/sh", script, flag, ...fakeCmd()];
}

/** The gateway's JSON log lines with message `msg`, every line logged so far. */
async function logLines(g: RunningGateway, msg: string): Promise<Json[]> {
  return (await g.loggedOutput())
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Json)
    .filter((line) => line.msg === msg);
}

const logged = (g: RunningGateway, msg: string) =>
  waitFor(`the log line "${msg}"`, async () => (await logLines(g, msg))[0], 15_000);

test("requests waiting behind a crashed model are served once a later restart succeeds, with no new request", async () => {
  const flag = join(dir, "cannot-start");
  const g = await startGateway({ models: { phoenix: { cmd: flaggedWrapper(flag), queueTimeout: "60s" } } });
  try {
    const chat = () =>
      postJson(g.url, "/v1/chat/completions", {
        model: "phoenix",
        messages: [{ role: "user", content: "hi" }],
      });
    assert.equal((await chat()).status, 200);
    const [pid] = await pidsOf(g, "phoenix");
    assert.ok(pid !== undefined && pid > 0);
    writeFileSync(flag, "");
    process.kill(pid, "SIGKILL");
    const crash = await logged(g, "llama-server crashed");
    assert.equal(crash.restartInMs, 1_000);
    // Requests arriving now wait for the restart; nothing else will ask for the model.
    const settled: number[] = [];
    const waiters = Array.from({ length: 3 }, () =>
      chat().then(async (res) => {
        await res.arrayBuffer();
        settled.push(res.status);
        return res.status;
      }),
    );
    const failed = await logged(g, "restarting llama-server failed; trying again");
    assert.equal(failed.level, 40, "a failed restart is a warning");
    assert.equal(failed.restartInMs, 2_000, "the back-off doubles");
    assert.match(JSON.stringify(failed.lastLines), /cannot start/, "with the wrapper's output");
    assert.deepEqual(settled, [], "the waiters still wait: a failed restart is not the end");
    const startedAt = Date.now();
    rmSync(flag);
    assert.deepEqual(await Promise.all(waiters), [200, 200, 200]);
    assert.ok(Date.now() - startedAt < 10_000, "served by the next restart, long before the queue timeout");
    const spawns = await logLines(g, "spawned llama-server");
    assert.equal(spawns.length, 3, "the first start, the failed restart, the one that worked");
  } finally {
    rmSync(flag, { force: true });
    await stopClean(g);
  }
});
