import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { cacheDir } from "../../src/llama/cache-dir.js";
import { locateLlamaServer } from "../../src/llama/locate-llama-server.js";
import { makeTinyModel } from "../../src/llama/tiny-model.js";
import { findVocab } from "../../src/llama/vocab.js";
import { testAssets } from "../../test/support/assets.js";
import { chatBody, GATEWAY_KEY } from "../load/request-shape.js";
import { readStream } from "../load/sse-client.js";
import type { ProcessSet } from "../procs/process-set.js";
import { Samples, type Summary, summarize } from "../stats/summary.js";
import { gatewayConfig, startGateway } from "../systems/gateway.js";
import type { GatewayCommand } from "../systems/gateway-build.js";
import { freePort, httpGet } from "../systems/http-probe.js";

export interface SwapSample {
  readonly ttftMs: number;
  /** ttft − (llama-server's own time to healthy + first-request time to first token). */
  readonly costMs: number;
  /** From the gateway's log: the old model's stopping → stopped, and the new one's starting → ready. */
  readonly stopMs: number | null;
  readonly loadMs: number | null;
}

export type S6Result =
  | { readonly skipped: string }
  | {
      readonly llamaServer: string;
      readonly modelBytes: number;
      /** llama-server started by hand, /health polled every 5 ms: spawn → 200. */
      readonly healthyMs: Summary;
      /** Time to first token of the first request a fresh llama-server gets (the model's own work). */
      readonly firstTtftMs: Summary;
      /** The same request again on a llama-server that answered it before (prompt cached). */
      readonly warmTtftMs: Summary;
      /** Gateway just started, model unloaded: request → first token. */
      readonly coldTtftMs: Summary;
      /** coldTtft − healthy − firstTtft (medians): what the gateway's lazy start adds. */
      readonly readinessCostMs: Summary;
      readonly swaps: readonly SwapSample[];
      readonly swapCostMs: Summary;
    };

const ARGS = ["-c", "1024", "-np", "1"];
const REQUEST_TOKENS = 4;

/** Starts llama-server the way the gateway does and times spawn → /health 200 (polled every 5 ms). */
async function timeToHealthy(
  set: ProcessSet,
  binary: string,
  model: string,
): Promise<{ ms: number; port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const started = performance.now();
  const spawned = set.spawn(
    "llama-server",
    binary,
    ["-m", model, "--alias", "tiny-a", "--host", "127.0.0.1", "--port", String(port), ...ARGS],
    {
      env: { ...process.env, LLAMA_API_KEY: GATEWAY_KEY },
    },
  );
  const deadline = started + 60_000;
  for (;;) {
    if (spawned.child.exitCode !== null) throw new Error(`llama-server exited:\n${spawned.output()}`);
    if ((await httpGet(port, "/health", 500)) === 200) break;
    if (performance.now() > deadline) throw new Error("llama-server not healthy within 60 s");
    await sleep(5);
  }
  return { ms: performance.now() - started, port, stop: () => set.stop(spawned) };
}

/**
 * Request → first token of one streamed chat, on a fresh connection: llama-server (cpp-httplib)
 * closes a connection after a streamed answer, so a reused keep-alive socket fails with "socket
 * hang up" on the next request. A new loopback connection costs well under a millisecond.
 */
async function firstToken(port: number, model: string): Promise<number> {
  const result = await readStream(
    {
      target: { port, key: GATEWAY_KEY },
      path: "/v1/chat/completions",
      body: chatBody(model, true, REQUEST_TOKENS),
      agent: false,
      expectedContent: null,
      timeoutMs: 120_000,
    },
    new Samples(),
  );
  if (!result.ok || result.ttftMs === null) throw new Error(`stream failed: ${result.error ?? "no token"}`);
  return result.ttftMs;
}

interface LogLine {
  time: number;
  msg: string;
  instance?: string;
  from?: string;
  to?: string;
}

/** Durations of state changes from the gateway's JSON log (ms resolution: pino's `time`). */
function stateSpan(
  logFile: string,
  instance: string,
  from: string,
  to: string,
  after: number,
): number | null {
  const lines = readFileSync(logFile, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine)
    .filter((l) => l.msg === "instance state" && l.instance === instance && l.time >= after);
  const begin = lines.find((l) => l.to === from);
  const end = lines.find((l) => l.to === to && begin !== undefined && l.time >= begin.time);
  return begin && end ? end.time - begin.time : null;
}

async function secondModel(dir: string): Promise<string> {
  const path = join(dir, "tiny-seed2.gguf");
  if (existsSync(path)) return path;
  const vocabPath = await findVocab(cacheDir());
  if (vocabPath === null) throw new Error("no llama.cpp vocabulary: run `llamawrapper setup`");
  mkdirSync(dir, { recursive: true });
  await makeTinyModel({ vocabPath, outPath: path, seed: 2 });
  return path;
}

/**
 * Scenario 6 with the real llama-server and the tiny model. First llama-server's own time to
 * healthy (started by hand, polled every 5 ms) and its warm time to first token; then the
 * gateway cold (fresh gateway, first request) and warm swaps between two models with
 * maxLoadedModels: 1. The differences are what the gateway adds to a cold start.
 */
export async function runS6(
  set: ProcessSet,
  dir: string,
  gatewayCommand: GatewayCommand,
  quick: boolean,
  log: (line: string) => void,
): Promise<S6Result> {
  const binary = process.env.LLAMA_SERVER_BIN ?? (await locateLlamaServer(null, cacheDir(), process.env));
  if (binary === null)
    return {
      skipped: "llama-server is not built: run `npx llamawrapper setup` (about 6 minutes on 2 cores)",
    };
  const assets = await testAssets(log);
  const modelA = assets.tinyModel;
  const modelB = await secondModel(join(dir, "models"));
  const trials = quick ? 2 : 5;

  const healthy: number[] = [];
  const first: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < trials; i++) {
    log(`s6: llama-server by hand, trial ${i + 1}/${trials}`);
    const server = await timeToHealthy(set, assets.llamaServer, i % 2 === 0 ? modelA : modelB);
    healthy.push(server.ms);
    try {
      // The first request of a fresh llama-server is what a cold start pays for (no prompt
      // cache yet); the later ones show what a warm model costs.
      first.push(await firstToken(server.port, "tiny-a"));
      for (let k = 0; k < 3; k++) warm.push(await firstToken(server.port, "tiny-a"));
    } finally {
      await server.stop();
    }
  }
  const healthyMedian = summarize(healthy).p50;
  const firstMedian = summarize(first).p50;

  const cold: number[] = [];
  const swaps: SwapSample[] = [];
  const coldTrials = quick ? 1 : 3;
  const swapCount = quick ? 2 : 4;
  for (let i = 0; i < coldTrials; i++) {
    log(`s6: gateway cold start, trial ${i + 1}/${coldTrials}`);
    const gwDir = join(dir, `gateway-cold-${i}`);
    mkdirSync(gwDir, { recursive: true });
    const gateway = await startGateway(
      set,
      gatewayCommand,
      gwDir,
      gatewayConfig({
        llamaServer: assets.llamaServer,
        maxLoadedModels: 1,
        models: [
          { id: "tiny-a", model: modelA, args: ARGS },
          { id: "tiny-b", model: modelB, args: ARGS },
        ],
      }),
    );
    try {
      cold.push(await firstToken(gateway.port, "tiny-a"));
      if (i === coldTrials - 1) {
        for (let k = 0; k < swapCount; k++) {
          const [from, to] = k % 2 === 0 ? ["tiny-a", "tiny-b"] : ["tiny-b", "tiny-a"];
          log(`s6: warm swap ${k + 1}/${swapCount}: ${from} → ${to}`);
          const at = Date.now();
          const ttft = await firstToken(gateway.port, to);
          await sleep(50); // let the log line of the last state change reach the file
          swaps.push({
            ttftMs: ttft,
            costMs: ttft - healthyMedian - firstMedian,
            stopMs: stateSpan(gateway.logFile, `${from}#0`, "stopping", "stopped", at - 5),
            loadMs: stateSpan(gateway.logFile, `${to}#0`, "starting", "ready", at - 5),
          });
        }
      }
    } finally {
      await set.stop(gateway.process, 20_000);
    }
  }
  return {
    llamaServer: assets.llamaServer,
    modelBytes: statSync(modelA).size,
    healthyMs: summarize(healthy),
    firstTtftMs: summarize(first),
    warmTtftMs: summarize(warm),
    coldTtftMs: summarize(cold),
    readinessCostMs: summarize(cold.map((t) => t - healthyMedian - firstMedian)),
    swaps,
    swapCostMs: summarize(swaps.map((s) => s.costMs)),
  };
}
