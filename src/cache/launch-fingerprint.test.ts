import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { waitFor } from "../../test/support/deadline.js";
import { modelConfig } from "../../test/support/scheduler-harness.js";
import { LaunchFingerprints } from "./launch-fingerprint.js";

async function folder(): Promise<string> {
  return mkdtemp(join(tmpdir(), "llw-fingerprint-"));
}

/** A model file with `content` in a fresh folder (removed after the test). */
async function modelFile(t: TestContext, content: string): Promise<string> {
  const dir = await folder();
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "m.gguf");
  await writeFile(file, content);
  return file;
}

test("launch settings and the model file's content make the fingerprint", async (t) => {
  const file = await modelFile(t, "weights one");
  let now = 1_000;
  const fingerprints = new LaunchFingerprints(() => now);
  const model = modelConfig("m", { launch: { kind: "model", model: file, args: ["-c", "512"] } });
  const first = await fingerprints.of(model, "/bin/llama-server");
  assert.equal(await fingerprints.of(model, "/bin/llama-server"), first, "stable");

  const otherArgs = modelConfig("m", { launch: { kind: "model", model: file, args: ["-c", "1024"] } });
  assert.notEqual(await fingerprints.of(otherArgs, "/bin/llama-server"), first, "args");
  assert.notEqual(await fingerprints.of(model, "/opt/llama-server"), first, "binary");
  const otherEnv = modelConfig("m", { launch: model.launch, env: { LLAMA_ARG_CTX_SIZE: "64" } });
  assert.notEqual(await fingerprints.of(otherEnv, "/bin/llama-server"), first, "env");
  assert.equal(await fingerprints.of(model, "/bin/llama-server"), first, "the first binary again");

  // The file replaced on disk: looked at again once the re-stat interval passed, not before,
  // and in the background: the request that starts the look gets the known fingerprint at once.
  await writeFile(file, "weights two, longer");
  assert.equal(fingerprints.of(model, "/bin/llama-server"), first, "within the interval: known, synchronous");
  now += 1_001;
  assert.equal(fingerprints.of(model, "/bin/llama-server"), first, "the look starts; no request waits on it");
  const second = await waitFor("the changed file to be seen", () => {
    const value = fingerprints.of(model, "/bin/llama-server");
    return value !== first ? value : undefined;
  });
  assert.equal(typeof second, "string");
  assert.equal(fingerprints.of(model, "/bin/llama-server"), second, "stable again");
});

test("a model's first fingerprint is awaited; a look that finds nothing changed keeps it", async (t) => {
  const file = await modelFile(t, "weights");
  let now = 1_000;
  const fingerprints = new LaunchFingerprints(() => now);
  const model = modelConfig("m", { launch: { kind: "model", model: file, args: [] } });
  const pending = fingerprints.of(model, "/bin/llama-server");
  assert.ok(pending instanceof Promise, "nothing known yet: the first request waits for the files");
  const first = await pending;
  now += 5_000;
  assert.equal(fingerprints.of(model, "/bin/llama-server"), first);
  // Another binary is another fingerprint, computed (and awaited) for itself.
  const other = fingerprints.of(model, "/opt/llama-server");
  assert.ok(other instanceof Promise);
  assert.notEqual(await other, first);
});

test("the same content under another path on another host gives the same identity", async (t) => {
  const [a, b] = [await folder(), await folder()];
  t.after(() => Promise.all([rm(a, { recursive: true }), rm(b, { recursive: true })]));
  // Larger than the sampled ends, so head and tail are both read.
  const content = Buffer.alloc(3 * 1024 * 1024, 7);
  await writeFile(join(a, "m.gguf"), content);
  await writeFile(join(b, "m.gguf"), content);
  const one = new LaunchFingerprints();
  const other = new LaunchFingerprints();
  const fileA = join(a, "m.gguf");
  const fileB = join(b, "m.gguf");
  const launchA = modelConfig("m", { launch: { kind: "cmd", cmd: ["llama-server", "-m", fileA] } });
  const launchB = modelConfig("m", { launch: { kind: "cmd", cmd: ["llama-server", "-m", fileB] } });
  // The cmd names the path, so the fingerprints differ by path; the file identity part agrees:
  // the same path with the same content on two gateways gives one fingerprint.
  assert.equal(await one.of(launchA, "llama-server"), await other.of(launchA, "llama-server"));
  assert.notEqual(await one.of(launchA, "llama-server"), await one.of(launchB, "llama-server"));
  content[content.length - 1] = 8;
  await writeFile(fileB, content);
  const fresh = new LaunchFingerprints();
  const changedTail = await fresh.of(launchB, "llama-server");
  await writeFile(fileB, Buffer.alloc(3 * 1024 * 1024, 7));
  assert.notEqual(
    await new LaunchFingerprints().of(launchB, "llama-server"),
    changedTail,
    "tail bytes count",
  );
});
