import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDir } from "../../src/llama/cache-dir.js";
import { locateLlamaServer } from "../../src/llama/locate-llama-server.js";
import { testAssets } from "../../test/support/assets.js";
import type { ProcessSet } from "../procs/process-set.js";
import { type Summary, summarize } from "../stats/summary.js";
import {
  conversationModel,
  conversationModelName,
  conversationModelParams,
} from "../systems/conversation-model.js";
import { gatewayConfig, startGateway } from "../systems/gateway.js";
import type { GatewayCommand } from "../systems/gateway-build.js";
import { readGatewayLog } from "../systems/gateway-log.js";
import {
  type Conversation,
  conversations,
  S9_LLAMA_ARGS,
  S9_MAX_TOKENS,
  S9_MODEL_ID,
  type S9Turn,
  streamChat,
  turn,
} from "./s9-affinity.js";

/**
 * Scenario 11: slot KV caches kept across a swap (docs/routing.md, "Slot caches kept across
 * unloads"; issue 13). Scenario 9's model and conversations (a ~7.1k-token first message) on a
 * gateway with two models and room for one: `conv` (two slots) and `other` (the tiny test
 * model). A request to `other` evicts `conv`, which saves what its slots hold; loading `conv`
 * again and sending the conversations' next turns either reads them back (`restored`) or
 * prefills them all again. Two fresh gateways, the same turns:
 *
 * - `restore`: `kvCache.enabled: true`.
 * - `recompute`: `kvCache.enabled: false`: every turn after a swap prefills everything.
 *
 * The sequence, two conversations A and B (one per slot): A1 B1 (cold prefills), `other`
 * (evicts conv: saves A and B), admin load of conv, A2 B2 (after the swap), A3 B3 (the
 * reference: a next turn on the slot that holds its conversation, no swap), `other` again
 * (saves A and B again), A4 sent while conv is unloaded (its TTFT includes the load), B4, then
 * A5 B5 (reference again). The references sit right after the turns they are compared with,
 * so a drift of the machine's load touches both alike.
 */

/** restored p50 / reference p50, next turns on a loaded model. */
export const S11_RESTORE_TARGET = 2;

const OTHER_ID = "other";
const OTHER_ARGS = ["-np", "1", "-c", "512"];
const ADMIN_KEY = "bench-admin-key-s11-0123456789abcdef";

export type S11Phase = "first" | "reference" | "after-swap" | "with-load";
export type S11RunName = "restore" | "recompute";

export interface S11Turn extends S9Turn {
  readonly phase: S11Phase;
  /**
   * The gateway's queueMs for the request (its access log): the wait for the model (a load)
   * and for a slot, and a restore's read before forwarding.
   */
  readonly queueMs: number | null;
}

/** One "saved slot KV caches before the unload" line of the gateway's log. */
export interface S11Save {
  readonly saved: number;
  readonly skipped: number;
  readonly bytes: number;
  readonly ms: number;
  readonly timedOut: boolean;
}

/** One entry of `<kvCache.dir>/index.json` right after a swap. */
export interface S11SavedFile {
  readonly file: string;
  readonly tokens: number;
  readonly bytes: number;
}

export interface S11Run {
  readonly kvCache: boolean;
  readonly turns: readonly S11Turn[];
  readonly saves: readonly S11Save[];
  /** The index after each swap (entries of both, as they were then). */
  readonly savedFiles: readonly S11SavedFile[];
  /** POST /admin/models/conv/load, ms to its answer (the load, after stopping `other`). */
  readonly adminLoadMs: number | null;
  /** Warnings the gateway logged about saving or restoring slots. */
  readonly warnings: readonly string[];
  readonly error: string | null;
  readonly seconds: number;
}

/** A returning turn in both runs: the restore run's decision against the recompute run's TTFT. */
export interface S11Comparison {
  readonly turn: string;
  readonly phase: S11Phase;
  readonly reason: string | null;
  readonly ttftMs: number | null;
  readonly recomputeTtftMs: number | null;
  /** The restore run's queueMs of the turn: the restore's read (and the load, with-load). */
  readonly queueMs: number | null;
  readonly prefilled: number | null;
  readonly cached: number | null;
  readonly savedBytes: number | null;
  /** Restored and faster than recomputing; null where it was not restored. */
  readonly wins: boolean | null;
}

export type S11Result =
  | { readonly skipped: string }
  | {
      readonly model: { readonly name: string; readonly params: number; readonly bytes: number };
      readonly llamaArgs: readonly string[];
      readonly otherArgs: readonly string[];
      readonly firstPromptTokens: number | null;
      readonly restore: S11Run;
      readonly recompute: S11Run;
      /** Next turns on the slot that holds the conversation, no swap (restore run). */
      readonly referenceTtftMs: Summary;
      /** Restore run, turns after a swap on a loaded model whose route said `restored`. */
      readonly restoredTtftMs: Summary;
      /** Recompute run, the same turns. */
      readonly recomputedTtftMs: Summary;
      readonly restoreOverReference: number | null;
      readonly recomputeOverRestore: number | null;
      readonly comparisons: readonly S11Comparison[];
      /** Every restored turn faster than the recompute run's same turn; null if none restored. */
      readonly onlyWhereWins: boolean | null;
    };

export function routeReason(route: string | null): string | null {
  return route === null ? null : (/reason=(\S+)/.exec(route)?.[1] ?? "unknown");
}

interface LogLine {
  readonly msg?: string;
  readonly level?: number | string;
  readonly saved?: number;
  readonly skipped?: number;
  readonly bytes?: number;
  readonly ms?: number;
  readonly timedOut?: boolean;
  readonly err?: string;
  readonly route?: string;
  readonly modelServed?: string;
  readonly queueMs?: number | null;
}

function readLog(file: string): LogLine[] {
  return readGatewayLog<LogLine>(file);
}

function readIndex(dir: string): S11SavedFile[] {
  const file = join(dir, "index.json");
  if (!existsSync(file)) return [];
  const index = JSON.parse(readFileSync(file, "utf8")) as { entries?: S11SavedFile[] };
  return (index.entries ?? []).map((e) => ({ file: e.file, tokens: e.tokens, bytes: e.bytes }));
}

async function adminLoad(port: number): Promise<number> {
  const started = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/admin/models/${S9_MODEL_ID}/load`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`admin load answered ${res.status}: ${text.slice(0, 300)}`);
  return performance.now() - started;
}

/** One request to `other`: conv is evicted (and saves its slots) to make room. */
async function swapOut(port: number, round: number): Promise<void> {
  const answer = await streamChat(
    port,
    [{ role: "user", content: `swap ${round}: say something` }],
    OTHER_ID,
  );
  if (answer.error !== null) throw new Error(`the request to ${OTHER_ID} failed: ${answer.error}`);
}

async function runOnce(
  set: ProcessSet,
  dir: string,
  gatewayCommand: GatewayCommand,
  binary: string,
  convModel: string,
  otherModel: string,
  kvCache: boolean,
  log: (line: string) => void,
): Promise<S11Run> {
  const name: S11RunName = kvCache ? "restore" : "recompute";
  const started = performance.now();
  const gwDir = join(dir, name);
  const kvDir = join(gwDir, "kv");
  mkdirSync(gwDir, { recursive: true });
  const base = gatewayConfig({
    llamaServer: binary,
    maxLoadedModels: 1,
    models: [
      { id: S9_MODEL_ID, model: convModel, args: S9_LLAMA_ARGS, maxConcurrent: 2 },
      { id: OTHER_ID, model: otherModel, args: OTHER_ARGS, maxConcurrent: 1 },
    ],
  });
  const models = base.models as Record<string, Record<string, unknown>>;
  models[S9_MODEL_ID] = { ...models[S9_MODEL_ID], affinity: true, kvCache: true };
  models[OTHER_ID] = { ...models[OTHER_ID], kvCache: false };
  const config = {
    ...base,
    auth: { ...(base.auth as Record<string, unknown>), adminKeys: [ADMIN_KEY] },
    scheduler: { maxLoadedModels: 1, swapDelay: 0, queueTimeout: "60s" },
    cache: { enabled: false },
    kvCache: { enabled: kvCache, dir: kvDir },
  };
  const out: Omit<S11Turn, "queueMs">[] = [];
  let savedFiles: S11SavedFile[] = [];
  let adminLoadMs: number | null = null;
  let error: string | null = null;
  let gateway: Awaited<ReturnType<typeof startGateway>> | null = null;
  const send = async (port: number, c: Conversation, n: number, phase: S11Phase) => {
    const t = { ...(await turn(port, c, n)), phase };
    log(
      `s11 ${name}: ${c.name}${n} (${phase}) ttft ${t.ttftMs?.toFixed(0) ?? "–"} ms` +
        `${t.promptTokens === null ? "" : `, prefilled ${t.promptTokens}`}${t.cachedTokens === null ? "" : ` cached ${t.cachedTokens}`}` +
        `${t.route ? ` [${t.route}]` : ""}${t.error ? ` (${t.error})` : ""}`,
    );
    out.push(t);
  };
  try {
    gateway = await startGateway(set, gatewayCommand, gwDir, config);
    const port = gateway.port;
    const [a, b] = conversations(2) as [Conversation, Conversation];
    await send(port, a, 1, "first");
    await send(port, b, 1, "first");
    await swapOut(port, 1);
    savedFiles = readIndex(kvDir);
    adminLoadMs = await adminLoad(port);
    log(`s11 ${name}: ${S9_MODEL_ID} loaded again in ${adminLoadMs.toFixed(0)} ms`);
    await send(port, a, 2, "after-swap");
    await send(port, b, 2, "after-swap");
    await send(port, a, 3, "reference");
    await send(port, b, 3, "reference");
    await swapOut(port, 2);
    const known = new Set(savedFiles.map((f) => f.file));
    savedFiles = [...savedFiles, ...readIndex(kvDir).filter((f) => !known.has(f.file))];
    await send(port, a, 4, "with-load");
    await send(port, b, 4, "after-swap");
    await send(port, a, 5, "reference");
    await send(port, b, 5, "reference");
  } catch (e) {
    error = (e as Error).message.split("\n")[0] ?? String(e);
    log(`s11 ${name} failed: ${error}`);
  } finally {
    if (gateway !== null) await set.stop(gateway.process, 20_000);
  }
  const lines = gateway === null ? [] : readLog(gateway.logFile);
  const saves = lines
    .filter((l) => l.msg === "saved slot KV caches before the unload")
    .map((l) => ({
      saved: l.saved ?? 0,
      skipped: l.skipped ?? 0,
      bytes: l.bytes ?? 0,
      ms: l.ms ?? 0,
      timedOut: l.timedOut === true,
    }));
  const warnings = lines
    .filter(
      (l) =>
        typeof l.msg === "string" && /slot/.test(l.msg) && l.msg !== "saved slot KV caches before the unload",
    )
    .map((l) => `${l.msg}${l.err ? `: ${l.err}` : ""}`);
  for (const s of saves)
    log(`s11 ${name}: saved ${s.saved} slots (${(s.bytes / 2 ** 20).toFixed(1)} MiB) in ${s.ms} ms`);
  for (const w of warnings) log(`s11 ${name}: gateway log: ${w}`);
  return {
    kvCache,
    turns: withQueue(out, lines),
    saves,
    savedFiles,
    adminLoadMs,
    warnings,
    error,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The turns were sent one at a time: the access log's conv requests are in the same order. */
function withQueue(turns: readonly Omit<S11Turn, "queueMs">[], lines: readonly LogLine[]): S11Turn[] {
  const requests = lines.filter(
    (l) => l.msg === "request" && l.route === "/v1/chat/completions" && l.modelServed === S9_MODEL_ID,
  );
  const aligned = requests.length === turns.length;
  return turns.map((t, i) => ({ ...t, queueMs: aligned ? (requests[i]?.queueMs ?? null) : null }));
}

function label(t: S9Turn): string {
  return `${t.conversation}${t.turn}`;
}

/** Each returning turn of the restore run beside the recompute run's same turn. */
function compare(restore: S11Run, recompute: S11Run): S11Comparison[] {
  const promptOf = new Map<string, number>();
  for (const t of restore.turns)
    if (t.promptTokens !== null) promptOf.set(label(t), t.promptTokens + (t.cachedTokens ?? 0));
  return restore.turns
    .filter((t) => t.phase === "after-swap" || t.phase === "with-load")
    .map((t) => {
      const other = recompute.turns.find((x) => label(x) === label(t));
      const reason = routeReason(t.route);
      // The file saved from the previous turn: its prompt and the reply (a few tokens more).
      const previous = promptOf.get(`${t.conversation}${t.turn - 1}`);
      const file =
        previous === undefined
          ? undefined
          : restore.savedFiles.find((f) => f.tokens >= previous && f.tokens <= previous + S9_MAX_TOKENS);
      const ttft = t.ok ? t.ttftMs : null;
      const recomputeTtft = other?.ok ? other.ttftMs : null;
      return {
        turn: label(t),
        phase: t.phase,
        reason,
        ttftMs: ttft,
        recomputeTtftMs: recomputeTtft,
        queueMs: t.queueMs,
        prefilled: t.promptTokens,
        cached: t.cachedTokens,
        savedBytes: file?.bytes ?? null,
        wins: reason !== "restored" ? null : ttft !== null && recomputeTtft !== null && ttft < recomputeTtft,
      };
    });
}

/** Scenario 11: about a minute on 2 cores (the recompute run's six cold prefills are most of it). */
export async function runS11(
  set: ProcessSet,
  dir: string,
  gatewayCommand: GatewayCommand,
  log: (line: string) => void,
): Promise<S11Result> {
  const located = process.env.LLAMA_SERVER_BIN ?? (await locateLlamaServer(null, cacheDir(), process.env));
  if (located === null)
    return {
      skipped: "llama-server is not built: run `npx llamawrapper setup` (about 6 minutes on 2 cores)",
    };
  const assets = await testAssets(log);
  const model = await conversationModel();
  log(`s11: model ${conversationModelName()} and the tiny model, maxLoadedModels 1`);
  const restore = await runOnce(
    set,
    dir,
    gatewayCommand,
    assets.llamaServer,
    model.path,
    assets.tinyModel,
    true,
    log,
  );
  const recompute = await runOnce(
    set,
    dir,
    gatewayCommand,
    assets.llamaServer,
    model.path,
    assets.tinyModel,
    false,
    log,
  );
  const ok = (t: S11Turn) => t.ok && t.ttftMs !== null;
  const reference = summarize(
    restore.turns.filter((t) => ok(t) && t.phase === "reference").map((t) => t.ttftMs as number),
  );
  const restored = summarize(
    restore.turns
      .filter((t) => ok(t) && t.phase === "after-swap" && routeReason(t.route) === "restored")
      .map((t) => t.ttftMs as number),
  );
  const recomputed = summarize(
    recompute.turns.filter((t) => ok(t) && t.phase === "after-swap").map((t) => t.ttftMs as number),
  );
  const rate = (a: Summary, b: Summary) => (a.n === 0 || b.n === 0 || b.p50 === 0 ? null : a.p50 / b.p50);
  const comparisons = compare(restore, recompute);
  const judged = comparisons.filter((c) => c.wins !== null);
  const first = restore.turns.find((t) => t.turn === 1 && t.promptTokens !== null);
  return {
    model: { name: conversationModelName(), params: conversationModelParams(), bytes: model.bytes },
    llamaArgs: S9_LLAMA_ARGS,
    otherArgs: OTHER_ARGS,
    firstPromptTokens:
      first === undefined ? null : (first.promptTokens as number) + (first.cachedTokens ?? 0),
    restore,
    recompute,
    referenceTtftMs: reference,
    restoredTtftMs: restored,
    recomputedTtftMs: recomputed,
    restoreOverReference: rate(restored, reference),
    recomputeOverRestore: rate(recomputed, restored),
    comparisons,
    onlyWhereWins: judged.length === 0 ? null : judged.every((c) => c.wins === true),
  };
}
