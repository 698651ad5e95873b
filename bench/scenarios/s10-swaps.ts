import { mkdirSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { prng } from "../../src/util/prng.js";
import { chatBody, GATEWAY_KEY, keepAliveAgent, requestHeaders } from "../load/request-shape.js";
import type { ProcessSet } from "../procs/process-set.js";
import { type Summary, summarize } from "../stats/summary.js";
import { gatewayConfig, startGateway } from "../systems/gateway.js";
import type { GatewayCommand } from "../systems/gateway-build.js";
import { readGatewayLog } from "../systems/gateway-log.js";
import { FAKE_SERVER, TSX_LOADER } from "../systems/paths.js";

/**
 * Scenario 10: swap order under the starvation bound (scheduler.swapDelay, docs/routing.md).
 * Two models on the fake llama-server, maxLoadedModels 1, each model's own client sending a
 * request every 200–400 ms (open loop, the same seeded schedule in both runs). Run twice: with
 * swapDelay 0 (first come, first served across models: nearly every request for the other
 * model costs a swap) and with swapDelay S10_SWAP_DELAY_MS (a loaded model keeps serving while
 * the other one's requests wait up to the bound, so one swap serves a batch).
 *
 * A swap costs what the fake's start costs: a node process with tsx (a few hundred ms) plus
 * `--fake-load-ms` of "loading". A request's wait is the gateway's own `queueMs` (time in the
 * scheduler: waiting for room, the load, a slot), from its access log.
 */

export const S10_SWAP_DELAY_MS = 3_000;
/** The delayed run's swaps per minute at most this share of FIFO's. */
export const S10_SWAP_RATIO_TARGET = 0.5;
/** The fake's startup delay: a swap costs at least this on top of starting a process. */
export const S10_LOAD_MS = 300;
/**
 * Answers take 500 ms, longer than the longest gap between two requests for a model: a loaded
 * model never becomes idle under its own client's load, so without the bound the other model
 * would wait for its queue timeout, and every swap has to be decided by the bound.
 */
const TOKENS = 10;
const TOKEN_DELAY_MS = 50;
/**
 * Slots per model: enough for the backlog one swap leaves (the fake has no slot limit), so the
 * pace is set by the swaps, not by a queue that grows while the other model is loaded.
 */
const SLOTS = 32;
const INTERVAL_MS: readonly [number, number] = [200, 400];
const MODELS = ["swap-a", "swap-b"] as const;

export interface S10Run {
  readonly swapDelayMs: number;
  /** First send → last answer. */
  readonly seconds: number;
  readonly requests: number;
  readonly failed: number;
  /** Models the scheduler stopped to make room ("unloading model", reason evicted). */
  readonly swaps: number;
  readonly swapsPerMinute: number;
  /** The gateway's queueMs per request (room, load, slot). */
  readonly waitMs: Summary;
  /** Client-side: send → last byte. */
  readonly latencyMs: Summary;
  /** The fake's starting → ready as the gateway logged it. */
  readonly loadMs: Summary;
  /** stopping → stopped of the model evicted. */
  readonly stopMs: Summary;
  /** Per request, the gateway's time after its wait: durationMs − queueMs (the answer). */
  readonly serviceMs: Summary;
}

export type S10Result =
  | { readonly skipped: string }
  | {
      readonly loadDelayMs: number;
      /** The fake's answer time: tokens × token delay. */
      readonly answerMs: number;
      readonly intervalMs: readonly [number, number];
      readonly durationMs: number;
      readonly fifo: S10Run;
      readonly delayed: S10Run;
      /**
       * The wait no request of the delayed run should pass (docs/routing.md): swapDelay (its wait
       * counts from its arrival, through the other model's load), then the drain of the requests
       * that held the loaded model at the bound (one answer: they run in parallel), then the
       * swap (stop + load). Each term is the worst measured in the delayed run.
       */
      readonly boundMs: number;
      /** Requests of the delayed run that waited longer than boundMs. */
      readonly pastBound: number;
      /** delayed swaps per minute / FIFO's. */
      readonly swapRatio: number | null;
    };

/** Send times (ms from the start) of one model's client. */
function schedule(seed: number, durationMs: number): number[] {
  const random = prng(seed);
  const [low, high] = INTERVAL_MS;
  const times: number[] = [];
  for (let at = random() * low; at < durationMs; at += low + random() * (high - low)) times.push(at);
  return times;
}

function fakeCmd(): string[] {
  return [
    process.execPath,
    "--import",
    TSX_LOADER,
    FAKE_SERVER,
    "--port",
    "${PORT}",
    "--fake-load-ms",
    String(S10_LOAD_MS),
    "--fake-tokens",
    String(TOKENS),
    "--fake-token-delay-ms",
    String(TOKEN_DELAY_MS),
  ];
}

interface Answer {
  readonly ok: boolean;
  readonly ms: number;
}

function send(port: number, model: string, agent: ReturnType<typeof keepAliveAgent>): Promise<Answer> {
  const body = chatBody(model, false, TOKENS);
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (ok: boolean) => resolve({ ok, ms: performance.now() - started });
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/v1/chat/completions",
        agent,
        headers: requestHeaders({ port, key: GATEWAY_KEY }, body),
        timeout: 120_000,
      },
      (res) => {
        res.resume();
        res.on("end", () => done(res.statusCode === 200));
        res.on("error", () => done(false));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => done(false));
    req.end(body);
  });
}

interface LogLine {
  readonly time: number;
  readonly msg: string;
  readonly reason?: string;
  readonly queueMs?: number | null;
  readonly durationMs?: number;
  readonly route?: string | null;
  readonly from?: string;
  readonly to?: string;
  readonly instance?: string;
}

function readLog(file: string): LogLine[] {
  return readGatewayLog<LogLine>(file);
}

/** One gateway, one swapDelay, the load from `startAt` on (wall clock, for the log). */
async function runOnce(
  set: ProcessSet,
  dir: string,
  gatewayCommand: GatewayCommand,
  swapDelayMs: number,
  durationMs: number,
  log: (line: string) => void,
): Promise<{ readonly run: S10Run; readonly waits: readonly number[] }> {
  mkdirSync(dir, { recursive: true });
  const base = gatewayConfig({
    maxLoadedModels: 1,
    models: MODELS.map((id) => ({ id, cmd: fakeCmd(), maxConcurrent: SLOTS })),
  });
  const gateway = await startGateway(set, gatewayCommand, dir, {
    ...base,
    scheduler: { maxLoadedModels: 1, swapDelay: swapDelayMs, queueTimeout: "60s" },
  });
  const agent = keepAliveAgent(256);
  try {
    // The first model loads before the clock starts: a cold start is scenario 6's subject.
    const warm = await send(gateway.port, MODELS[0], agent);
    if (!warm.ok) throw new Error(`the warm-up request to ${MODELS[0]} failed`);
    const startWall = Date.now();
    const start = performance.now();
    const answers: Promise<Answer>[] = [];
    await Promise.all(
      MODELS.map(async (model, index) => {
        for (const at of schedule(index + 1, durationMs)) {
          const due = start + at - performance.now();
          if (due > 0) await sleep(due);
          answers.push(send(gateway.port, model, agent));
        }
      }),
    );
    const settled = await Promise.all(answers);
    const seconds = (performance.now() - start) / 1000;
    await sleep(100); // the last access-log lines reach the file
    const lines = readLog(gateway.logFile).filter((line) => line.time >= startWall);
    const swaps = lines.filter((line) => line.msg === "unloading model" && line.reason === "evicted").length;
    const waits = lines
      .filter((line) => line.msg === "request" && typeof line.queueMs === "number")
      .map((line) => line.queueMs as number);
    const service = lines
      .filter((line) => line.msg === "request" && typeof line.queueMs === "number")
      .map((line) => (line.durationMs ?? 0) - (line.queueMs as number));
    const began = new Map<string, number>();
    const loads: number[] = [];
    const stops: number[] = [];
    for (const line of lines) {
      if (line.msg !== "instance state" || line.instance === undefined) continue;
      if (line.to === "starting" || line.to === "stopping") began.set(line.instance, line.time);
      const since = began.get(line.instance);
      if (since === undefined) continue;
      if (line.from === "starting" && line.to === "ready") loads.push(line.time - since);
      if (line.from === "stopping" && line.to === "stopped") stops.push(line.time - since);
    }
    const run: S10Run = {
      swapDelayMs,
      seconds,
      requests: settled.length,
      failed: settled.filter((answer) => !answer.ok).length,
      swaps,
      swapsPerMinute: swaps / (seconds / 60),
      waitMs: summarize(waits),
      latencyMs: summarize(settled.map((answer) => answer.ms)),
      loadMs: summarize(loads),
      stopMs: summarize(stops),
      serviceMs: summarize(service),
    };
    log(
      `s10: swapDelay ${swapDelayMs} ms: ${run.requests} requests (${run.failed} failed), ${swaps} swaps ` +
        `(${run.swapsPerMinute.toFixed(1)}/min), wait p50 ${run.waitMs.p50.toFixed(0)} ms, ` +
        `p99 ${run.waitMs.p99.toFixed(0)} ms, worst ${run.waitMs.max.toFixed(0)} ms`,
    );
    return { run, waits };
  } finally {
    agent.destroy();
    await set.stop(gateway.process, 20_000);
  }
}

/** Scenario 10: FIFO (swapDelay 0) against the starvation bound, same load, one after the other. */
export async function runS10(
  set: ProcessSet,
  dir: string,
  gatewayCommand: GatewayCommand,
  quick: boolean,
  log: (line: string) => void,
): Promise<S10Result> {
  const durationMs = quick ? 10_000 : 20_000;
  log(`s10: swapDelay 0 (FIFO), ${durationMs / 1000} s of alternating load`);
  const { run: fifo } = await runOnce(set, join(dir, "fifo"), gatewayCommand, 0, durationMs, log);
  log(`s10: swapDelay ${S10_SWAP_DELAY_MS} ms, the same load`);
  const { run: delayed, waits } = await runOnce(
    set,
    join(dir, "delayed"),
    gatewayCommand,
    S10_SWAP_DELAY_MS,
    durationMs,
    log,
  );
  const boundMs = S10_SWAP_DELAY_MS + delayed.serviceMs.max + delayed.stopMs.max + delayed.loadMs.max;
  return {
    loadDelayMs: S10_LOAD_MS,
    answerMs: TOKENS * TOKEN_DELAY_MS,
    intervalMs: INTERVAL_MS,
    durationMs,
    fifo,
    delayed,
    boundMs,
    pastBound: waits.filter((wait) => wait > boundMs).length,
    swapRatio: fifo.swapsPerMinute > 0 ? delayed.swapsPerMinute / fifo.swapsPerMinute : null,
  };
}
