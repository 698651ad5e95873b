import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { NO_PRETENURING } from "./gc-tuning.js";

/**
 * An allocation site whose objects all survive young-generation collections: V8 pretenures it
 * (new objects from it start in the old generation) unless avoidPretenuring ran. Checked with
 * V8's own %InYoungGeneration in a plain child process (natives syntax is not TypeScript, and
 * tsx's loader in the child changes what V8 sees), setting the flag the way avoidPretenuring does.
 */
function freshObjectIsYoung(avoid: boolean): boolean {
  const script = `
    import { setFlagsFromString } from "node:v8";
    if (${avoid}) setFlagsFromString(${JSON.stringify(NO_PRETENURING)});
    function make(i) { return { a: i, b: i + 1, c: null }; }
    const keep = [];
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 100000; i++) keep.push(make(i));
      for (let i = 0; i < 200000; i++) new Array(8);
    }
    process.stdout.write(String(%InYoungGeneration(make(1))));
  `;
  const run = spawnSync(process.execPath, ["--allow-natives-syntax", "--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim() === "true";
}

test("without it a site whose objects survive is pretenured; with it, new objects start young", () => {
  assert.equal(
    freshObjectIsYoung(false),
    false,
    "the workload must trigger pretenuring, or the test proves nothing",
  );
  assert.equal(freshObjectIsYoung(true), true);
});
