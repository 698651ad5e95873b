import assert from "node:assert/strict";
import { test } from "node:test";
import { type Json, postJson, readAll, sseData } from "../fixtures/fake/client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";

/** The gateway's JSON log lines with message `msg`. */
async function logLines(g: RunningGateway, msg: string): Promise<Json[]> {
  return (await g.loggedOutput())
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Json)
    .filter((line) => line.msg === msg);
}

test("the crash log line names the request that was streaming on the instance", async () => {
  const gateway = await startGateway({
    models: { culprit: { cmd: fakeCmd("--fake-crash-after-chunks", "2", "--fake-tokens", "8") } },
  });
  try {
    const requestId = "crash-culprit-1";
    const res = await postJson(
      gateway.url,
      "/v1/chat/completions",
      { model: "culprit", stream: true, messages: [{ role: "user", content: "hi" }] },
      { headers: { "x-request-id": requestId } },
    );
    assert.equal(res.status, 200);
    const data = sseData((await readAll(res)).text);
    assert.equal(JSON.parse(data.at(-2) as string).error.code, "backend_crashed");
    const [crash] = await waitFor("the crash log line", async () => {
      const lines = await logLines(gateway, "llama-server crashed");
      return lines.length > 0 ? lines : undefined;
    });
    assert.equal(crash?.level, 40, "logged at warn");
    assert.equal(crash?.instance, "culprit#0");
    assert.deepEqual(crash?.requestIds, [requestId], JSON.stringify(crash));
  } finally {
    assert.equal(await gateway.stop(), 0);
  }
});
