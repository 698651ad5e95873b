import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runCommand } from "./run-command.js";

const node = process.execPath;

describe("runCommand", () => {
  it("resolves with the output of a command that succeeded", async () => {
    const result = await runCommand(node, ["-e", "process.stdout.write('hi')"], { timeoutMs: 10_000 });
    assert.deepEqual(result, { code: 0, stdout: "hi", stderr: "" });
  });

  it("resolves with the exit code and stderr of a command that failed", async () => {
    const script = "process.stderr.write('bad\\n'); process.exit(3)";
    const result = await runCommand(node, ["-e", script], { timeoutMs: 10_000 });
    assert.deepEqual(result, { code: 3, stdout: "", stderr: "bad\n" });
  });

  it("rejects with ENOENT when the command is not installed", async () => {
    await assert.rejects(runCommand("llamawrapper-no-such-tool", [], { timeoutMs: 10_000 }), {
      code: "ENOENT",
    });
  });

  it("kills a command that runs past its timeout", async () => {
    const result = await runCommand(node, ["-e", "setTimeout(() => {}, 60_000)"], { timeoutMs: 200 });
    assert.equal(result.code, null);
    assert.equal(result.timedOut, true);
  });
});
