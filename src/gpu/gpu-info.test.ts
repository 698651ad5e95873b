import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createGpuInfo, NO_TOOL_REASON } from "./gpu-info.js";
import type { CommandResult, RunCommand } from "./run-command.js";

const MIB = 2 ** 20;
const GPU_CSV =
  "0, GPU-a, NVIDIA H200, 580.159.04, 143771, 0, 143156, 0, 0, 35, 123.04, 700.00, 1980, 3201, P0, 00000000:00:06.0\n";
const APPS_CSV = "GPU-a, 4242, llama-server, 20480\n";
const ROCM_JSON =
  '{"card0": {"VRAM Total Memory (B)": "1000", "VRAM Total Used Memory (B)": "400", "GPU use (%)": "5"}}';

type Answer = CommandResult | "absent" | Error;

const ok = (stdout: string): CommandResult => ({ code: 0, stdout, stderr: "" });

/** A runner that answers from a table and records each call as "command first-arg". */
function fakeRunner(answer: (command: string, args: readonly string[]) => Answer) {
  const calls: string[] = [];
  let gate: Promise<void> = Promise.resolve();
  const run: RunCommand = async (command, args) => {
    calls.push(`${command} ${args[0] ?? ""}`.split("=")[0] ?? "");
    await gate;
    const result = answer(command, args);
    if (result === "absent") throw Object.assign(new Error(`spawn ${command} ENOENT`), { code: "ENOENT" });
    if (result instanceof Error) throw result;
    return result;
  };
  return {
    run,
    calls,
    /** Holds every call until the returned function is called. */
    hold(): () => void {
      let release = () => {};
      gate = new Promise((resolve) => {
        release = resolve;
      });
      return release;
    },
  };
}

const nvidiaOnly = (command: string, args: readonly string[]): Answer => {
  if (command !== "nvidia-smi") return "absent";
  return ok(args[0]?.startsWith("--query-gpu") ? GPU_CSV : APPS_CSV);
};

describe("createGpuInfo", () => {
  it("reads GPUs and their processes from nvidia-smi", async () => {
    const fake = fakeRunner(nvidiaOnly);
    const report = await createGpuInfo({ run: fake.run, now: () => 5 }).read();
    assert.equal(report.source, "nvidia-smi");
    assert.equal(report.reason, undefined);
    assert.equal(report.readAt, 5);
    assert.equal(report.gpus[0]?.memoryFreeBytes, 143156 * MIB);
    assert.deepEqual(report.gpus[0]?.processes, [
      { pid: 4242, name: "llama-server", usedMemoryBytes: 20480 * MIB },
    ]);
    assert.deepEqual(fake.calls, ["nvidia-smi --query-gpu", "nvidia-smi --query-compute-apps"]);
  });

  it("serves the cached reading within cacheMs and reads again after", async () => {
    const fake = fakeRunner(nvidiaOnly);
    let now = 1_000;
    const info = createGpuInfo({ run: fake.run, now: () => now, cacheMs: 2_000 });
    const first = await info.read();
    now += 1_999;
    assert.equal(await info.read(), first, "still fresh");
    assert.equal(fake.calls.length, 2, "one reading is two nvidia-smi calls");
    now += 1;
    const second = await info.read();
    assert.notEqual(second, first);
    assert.equal(second.readAt, 3_000);
    assert.equal(fake.calls.length, 4);
  });

  it("a clock that steps back does not keep a reading fresh", async () => {
    const fake = fakeRunner(nvidiaOnly);
    let now = 10_000;
    const info = createGpuInfo({ run: fake.run, now: () => now });
    await info.read();
    now = 5_000;
    await info.read();
    assert.equal(fake.calls.filter((c) => c === "nvidia-smi --query-gpu").length, 2);
  });

  it("concurrent callers share one run of the tool", async () => {
    const fake = fakeRunner(nvidiaOnly);
    const info = createGpuInfo({ run: fake.run, now: () => 0 });
    const release = fake.hold();
    const reads = [info.read(), info.read(), info.read()];
    release();
    const [a, b, c] = await Promise.all(reads);
    assert.equal(a, b);
    assert.equal(b, c);
    assert.deepEqual(fake.calls, ["nvidia-smi --query-gpu", "nvidia-smi --query-compute-apps"]);
  });

  it("falls back to rocm-smi when nvidia-smi is not installed", async () => {
    const fake = fakeRunner((command) => (command === "rocm-smi" ? ok(ROCM_JSON) : "absent"));
    const report = await createGpuInfo({ run: fake.run, now: () => 0 }).read();
    assert.equal(report.source, "rocm-smi");
    assert.equal(report.gpus[0]?.memoryFreeBytes, 600);
    assert.equal(report.gpus[0]?.utilizationPercent, 5);
    assert.deepEqual(fake.calls, ["nvidia-smi --query-gpu", "rocm-smi --showmeminfo"]);
  });

  it("says so when neither tool is installed, and caches that too", async () => {
    const fake = fakeRunner(() => "absent");
    const info = createGpuInfo({ run: fake.run, now: () => 0 });
    assert.deepEqual(await info.read(), { gpus: [], source: null, reason: NO_TOOL_REASON, readAt: 0 });
    await info.read();
    assert.equal(fake.calls.length, 2);
  });

  it("reports a failing tool's exit code and first line of output", async () => {
    const fake = fakeRunner((command) =>
      command === "nvidia-smi"
        ? {
            code: 9,
            // nvidia-smi writes this failure to stdout, not stderr.
            stdout:
              "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\nMake sure...\n",
            stderr: "",
          }
        : "absent",
    );
    const report = await createGpuInfo({ run: fake.run, now: () => 0 }).read();
    assert.deepEqual(report.gpus, []);
    assert.equal(report.source, "nvidia-smi");
    assert.equal(
      report.reason,
      "nvidia-smi exited with code 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
    );
  });

  it("tries rocm-smi after a failing nvidia-smi, and names both failures when both fail", async () => {
    const fake = fakeRunner((command) =>
      command === "nvidia-smi"
        ? { code: null, stdout: "", stderr: "", timedOut: true }
        : { code: 2, stdout: "", stderr: "\nERROR: No AMD GPUs specified\n" },
    );
    const report = await createGpuInfo({ run: fake.run, now: () => 0 }).read();
    assert.equal(report.source, "nvidia-smi");
    assert.equal(
      report.reason,
      "nvidia-smi timed out; rocm-smi exited with code 2: ERROR: No AMD GPUs specified",
    );
    const rescued = fakeRunner((command) =>
      command === "nvidia-smi" ? new Error("EACCES: denied") : ok(ROCM_JSON),
    );
    const second = await createGpuInfo({ run: rescued.run, now: () => 0 }).read();
    assert.equal(second.source, "rocm-smi");
    assert.equal(second.gpus.length, 1);
  });

  it("keeps the GPUs when only the per-process query fails", async () => {
    const fake = fakeRunner((command, args) => {
      if (command !== "nvidia-smi") return "absent";
      return args[0]?.startsWith("--query-gpu")
        ? ok(GPU_CSV)
        : { code: 4, stdout: "", stderr: "no permission" };
    });
    const report = await createGpuInfo({ run: fake.run, now: () => 0 }).read();
    assert.equal(report.gpus.length, 1);
    assert.deepEqual(report.gpus[0]?.processes, []);
    assert.equal(report.reason, "nvidia-smi --query-compute-apps exited with code 4: no permission");
  });

  it("treats unreadable or empty output as a failure", async () => {
    const fake = fakeRunner((command) => (command === "nvidia-smi" ? ok("") : ok("garbage")));
    const report = await createGpuInfo({ run: fake.run, now: () => 0 }).read();
    assert.deepEqual(report.gpus, []);
    assert.equal(
      report.reason,
      "nvidia-smi listed no GPUs; rocm-smi printed unreadable output: rocm-smi printed no JSON object",
    );
  });
});
