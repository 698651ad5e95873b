import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runNodeClosedLoop } from "../load/closed-loop.js";
import { chatBody, GATEWAY_KEY } from "../load/request-shape.js";
import { runWrk } from "../load/wrk.js";
import type { ProcessSet } from "../procs/process-set.js";
import { S2_CONNECTIONS } from "../scenarios/s2-throughput.js";
import { fakeAsLlamaServer } from "../systems/fake-backend.js";
import { gatewayConfig, startGateway } from "../systems/gateway.js";
import type { GatewayCommand } from "../systems/gateway-build.js";
import { FAKE_SLOTS, type System, warmUp } from "../systems/harness.js";
import { ROOT } from "../systems/paths.js";
import { analyzeProfile, type ProfileSummary } from "./cpu-profile.js";
import { flameSvg } from "./flame-svg.js";
import { Locator } from "./source-map.js";

export interface ProfileResult {
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly summary: Omit<ProfileSummary, "tree">;
  readonly flameFile: string;
}

/**
 * Runs a separate gateway under `node --cpu-prof` with scenario 2's load (the profiler slows it,
 * so its numbers are not used elsewhere), stops it gracefully so V8 writes the profile, and
 * turns the profile into tables and a flame graph (`flameFile`).
 */
export async function profileGateway(
  set: ProcessSet,
  dir: string,
  command: GatewayCommand,
  wrk: string | null,
  quick: boolean,
  flameFile: string,
  log: (line: string) => void,
): Promise<ProfileResult> {
  const profDir = join(dir, "cpu-profile");
  rmSync(profDir, { recursive: true, force: true });
  mkdirSync(profDir, { recursive: true });
  const fake = fakeAsLlamaServer(dir);
  const gateway = await startGateway(
    set,
    command,
    dir,
    gatewayConfig({
      models: [{ id: "fast", ...fake.entry("fast"), maxConcurrent: FAKE_SLOTS }],
      maxLoadedModels: 1,
      llamaServer: fake.binary,
    }),
    ["--cpu-prof", `--cpu-prof-dir=${profDir}`],
  );
  const seconds = quick ? 3 : 8;
  let rps = 0;
  try {
    const system: System = {
      name: "gateway",
      target: () => ({ port: gateway.port, key: GATEWAY_KEY }),
      proxyPids: () => [gateway.process.pid],
      backendPid: () => null,
    };
    await warmUp([system], "fast", 200);
    log(`profile: gateway under --cpu-prof, ${S2_CONNECTIONS} connections, ${seconds} s`);
    const options = {
      target: system.target("fast"),
      path: "/v1/chat/completions",
      body: chatBody("fast", false, 16),
      connections: S2_CONNECTIONS,
      durationMs: seconds * 1000,
    };
    rps = (wrk === null ? await runNodeClosedLoop(options) : await runWrk(wrk, dir, options))
      .requestsPerSecond;
  } finally {
    // SIGTERM: the gateway drains and exits normally, which is when V8 writes the profile.
    await set.stop(gateway.process, 30_000);
  }
  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the gateway's main thread;
  // the config worker (runtime/read-config-isolated.ts) writes its own, short one.
  const file = readdirSync(profDir).find((name) => /\.0\.\d+\.cpuprofile$/.test(name));
  if (file === undefined) throw new Error(`no .cpuprofile written in ${profDir}`);
  const { tree, ...summary } = analyzeProfile(join(profDir, file), new Locator(ROOT));
  writeFileSync(
    flameFile,
    flameSvg(
      tree,
      `gateway CPU profile under scenario 2 load (${S2_CONNECTIONS} connections): busy time by call path`,
    ),
  );
  return { seconds, requestsPerSecond: rps, summary, flameFile };
}
