import { mkdirSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { cacheDir } from "../../src/llama/cache-dir.js";
import { locateLlamaServer } from "../../src/llama/locate-llama-server.js";
import { prng } from "../../src/util/prng.js";
import { testAssets } from "../../test/support/assets.js";
import { GATEWAY_KEY } from "../load/request-shape.js";
import { readSseBody } from "../load/sse-client.js";
import type { ProcessSet } from "../procs/process-set.js";
import { type Summary, summarize } from "../stats/summary.js";
import {
  CONVERSATION_MODEL,
  CONVERSATION_MODEL_ARGS,
  conversationModel,
  conversationModelName,
  conversationModelParams,
} from "../systems/conversation-model.js";
import { gatewayConfig, startGateway } from "../systems/gateway.js";
import type { GatewayCommand } from "../systems/gateway-build.js";
import { freePort, httpGet } from "../systems/http-probe.js";

/**
 * Scenario 9: conversation-affine routing (issue 13). Multi-turn conversations whose first
 * message is about 7k tokens, over one model with two llama-server instances of two slots each.
 * A next turn that reaches the slot that still holds the conversation prefills only the new
 * tokens (tens of ms); anywhere else it prefills all of them again (seconds). Three systems,
 * one after another:
 *
 * - `reference`: one llama-server, each conversation's turns sent to it back to back, so every
 *   next turn finds its prompt in the slot: the best a cache hit gets.
 * - `affinity`: the gateway with `affinity: true`, conversations interleaved A1 B1 C1 A2 ...
 * - `round-robin`: the same gateway with `affinity: false` (the least busy instance, round
 *   robin among equals: three conversations over two instances never land twice in a row on
 *   the same one).
 *
 * Three conversations, four slots: each conversation can keep a slot of its own, which is what
 * affinity gives it. `--cache-ram 0` turns off llama-server's host-memory prompt cache, so the
 * slots are the only cache: with llama.cpp's default 8 GiB this tiny model's 29 MB
 * conversations would all fit on both instances, which no real model's do (an 8B model's
 * 7k-token KV cache is about 1 GB), and round robin would be cold only on a conversation's first
 * visit to each instance.
 */

export const S9_CONVERSATIONS = 3;
/** Words of a conversation's first message: about 7.1k tokens with this vocabulary. */
export const S9_FIRST_MESSAGE_WORDS = 3400;
export const S9_MAX_TOKENS = 8;
/** affinity / reference, p50 of turns ≥ 2. */
export const S9_AFFINITY_TARGET = 1.5;
/** round-robin / affinity, p50 of turns ≥ 2. */
export const S9_ROUND_ROBIN_TARGET = 10;

export const S9_MODEL_ID = "conv";
/** Two slots of 8192 tokens each. */
const SLOT_ARGS = ["-np", "2", "-c", "16384"];
const HOST_CACHE_ARGS = ["--cache-ram", "0"];
export const S9_LLAMA_ARGS = [...SLOT_ARGS, ...CONVERSATION_MODEL_ARGS, ...HOST_CACHE_ARGS];
const TURN_TIMEOUT_MS = 120_000;

export type S9SystemName = "reference" | "affinity" | "round-robin";

export interface S9Turn {
  readonly conversation: string;
  readonly turn: number;
  readonly ttftMs: number | null;
  readonly ok: boolean;
  readonly error: string | null;
  /** X-Gateway-Route, when the gateway sent it. */
  readonly route: string | null;
  /** llama-server's timings of the turn, when the stream carried them. */
  readonly promptTokens: number | null;
  readonly promptMs: number | null;
  readonly cachedTokens: number | null;
}

export interface S9System {
  readonly turns: readonly S9Turn[];
  /** Turns ≥ 2 (the ones a cache can help); failed turns left out. */
  readonly laterTtftMs: Summary;
  readonly firstTtftMs: Summary;
  /** X-Gateway-Route reasons and how often each came; empty when the header never came. */
  readonly routes: Readonly<Record<string, number>>;
  readonly failed: number;
  /** Why the whole system could not run (the gateway refused the config, ...). */
  readonly error: string | null;
  readonly seconds: number;
}

export type S9Result =
  | { readonly skipped: string }
  | {
      readonly model: {
        readonly name: string;
        readonly embeddingLength: number;
        readonly blockCount: number;
        readonly feedForwardLength: number;
        readonly headCount: number;
        readonly params: number;
        readonly bytes: number;
      };
      readonly llamaArgs: readonly string[];
      readonly conversations: number;
      readonly turns: number;
      /** Prompt tokens of the first turns, as llama-server counted them (reference run). */
      readonly firstPromptTokens: number | null;
      readonly systems: Readonly<Record<S9SystemName, S9System>>;
      /** affinity p50 / reference p50, turns ≥ 2. */
      readonly affinityOverReference: number | null;
      /** round-robin p50 / affinity p50, turns ≥ 2. */
      readonly roundRobinOverAffinity: number | null;
    };

const SYLLABLES = ["ka", "lo", "mi", "ren", "to", "sa", "vel", "di", "nor", "pa"].concat([
  "shi",
  "quo",
  "bel",
  "tra",
  "un",
  "ex",
  "mar",
  "go",
  "li",
  "fen",
]);

/** Made-up words, distinct per seed: about 2.1 tokens a word with the SPM vocabulary. */
export function conversationText(seed: number, words: number): string {
  const random = prng(seed);
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    let word = "";
    for (let n = 1 + Math.floor(random() * 3); n > 0; n--)
      word += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    out.push(word);
  }
  return out.join(" ");
}

export interface Message {
  readonly role: "user" | "assistant";
  readonly content: string;
}

export interface Conversation {
  readonly name: string;
  readonly messages: Message[];
}

export function conversations(count: number): Conversation[] {
  return Array.from({ length: count }, (_, i) => ({
    name: String.fromCharCode(65 + i),
    messages: [{ role: "user", content: conversationText(i + 1, S9_FIRST_MESSAGE_WORDS) }],
  }));
}

export interface StreamAnswer {
  readonly ttftMs: number | null;
  readonly content: string;
  readonly route: string | null;
  readonly error: string | null;
  readonly timings: { prompt_n?: number; prompt_ms?: number; cache_n?: number } | null;
  readonly usage: { prompt_tokens?: number } | null;
}

/**
 * One streamed chat on a fresh connection (llama-server closes it after a stream), with
 * Cache-Control: no-cache so the gateway's response cache never answers. TTFT: request
 * written → first content token.
 */
export function streamChat(
  port: number,
  messages: readonly Message[],
  model: string = S9_MODEL_ID,
): Promise<StreamAnswer> {
  const body = Buffer.from(
    JSON.stringify({
      model,
      messages,
      max_tokens: S9_MAX_TOKENS,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  );
  return new Promise((resolve) => {
    const t0 = performance.now();
    let ttftMs: number | null = null;
    let content = "";
    let route: string | null = null;
    let timings: StreamAnswer["timings"] = null;
    let usage: StreamAnswer["usage"] = null;
    let done = false;
    let settled = false;
    const finish = (error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ttftMs, content, route, error, timings, usage });
    };
    const onEvent = (data: string, at: number) => {
      if (data === "[DONE]") {
        done = true;
        return;
      }
      const event = JSON.parse(data) as {
        choices?: Array<{ delta?: { content?: string } }>;
        error?: unknown;
        timings?: StreamAnswer["timings"];
        usage?: StreamAnswer["usage"];
      };
      if (event.error !== undefined) throw new Error(`in-band error: ${data}`);
      if (event.timings) timings = event.timings;
      if (event.usage) usage = event.usage;
      const piece = event.choices?.[0]?.delta?.content;
      if (typeof piece !== "string" || piece === "") return;
      if (ttftMs === null) ttftMs = at - t0;
      content += piece;
    };
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: "/v1/chat/completions",
        method: "POST",
        agent: false,
        headers: {
          "content-type": "application/json",
          "content-length": body.length,
          authorization: `Bearer ${GATEWAY_KEY}`,
          "cache-control": "no-cache",
          accept: "text/event-stream",
        },
      },
      (res) => {
        const header = res.headers["x-gateway-route"];
        route = typeof header === "string" ? header : null;
        if (res.statusCode !== 200) {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            if (text.length < 500) text += chunk;
          });
          res.once("end", () => finish(`status ${res.statusCode}: ${text.slice(0, 300)}`));
          return;
        }
        readSseBody(req, res, onEvent, finish, () => done);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      finish(`no end within ${TURN_TIMEOUT_MS} ms`);
    }, TURN_TIMEOUT_MS);
    req.once("error", (error) => finish(error.message));
    req.end(body);
  });
}

/** Sends one turn of `c`, records it, and appends the reply and the next short question. */
export async function turn(port: number, c: Conversation, n: number): Promise<S9Turn> {
  const answer = await streamChat(port, c.messages);
  const ok = answer.error === null && answer.ttftMs !== null;
  c.messages.push(
    { role: "assistant", content: answer.content },
    { role: "user", content: `Turn ${n + 1} of conversation ${c.name}: and what follows from that?` },
  );
  return {
    conversation: c.name,
    turn: n,
    ttftMs: answer.ttftMs,
    ok,
    error: answer.error ?? (answer.ttftMs === null ? "no content token" : null),
    route: answer.route,
    promptTokens: answer.timings?.prompt_n ?? answer.usage?.prompt_tokens ?? null,
    promptMs: answer.timings?.prompt_ms ?? null,
    cachedTokens: answer.timings?.cache_n ?? null,
  };
}

function systemResult(turns: readonly S9Turn[], error: string | null, started: number): S9System {
  const good = turns.filter((t) => t.ok && t.ttftMs !== null);
  const routes: Record<string, number> = {};
  for (const t of turns) {
    const reason = t.route === null ? null : (/reason=(\S+)/.exec(t.route)?.[1] ?? "unknown");
    if (reason !== null) routes[reason] = (routes[reason] ?? 0) + 1;
  }
  return {
    turns,
    laterTtftMs: summarize(good.filter((t) => t.turn >= 2).map((t) => t.ttftMs as number)),
    firstTtftMs: summarize(good.filter((t) => t.turn === 1).map((t) => t.ttftMs as number)),
    routes,
    failed: turns.length - good.length,
    error,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The reference: one llama-server, each conversation's turns back to back (every next turn a slot hit). */
async function runReference(
  set: ProcessSet,
  binary: string,
  model: string,
  turns: number,
  log: (line: string) => void,
): Promise<S9System> {
  const started = performance.now();
  const port = await freePort();
  const server = set.spawn(
    "llama-server",
    binary,
    ["-m", model, "--alias", S9_MODEL_ID, "--host", "127.0.0.1", "--port", String(port), ...S9_LLAMA_ARGS],
    { env: { ...process.env, LLAMA_API_KEY: GATEWAY_KEY } },
  );
  const out: S9Turn[] = [];
  try {
    const deadline = performance.now() + 60_000;
    for (;;) {
      if (server.child.exitCode !== null) throw new Error(`llama-server exited:\n${server.output()}`);
      if ((await httpGet(port, "/health", 500)) === 200) break;
      if (performance.now() > deadline) throw new Error("llama-server not healthy within 60 s");
      await sleep(20);
    }
    for (const c of conversations(S9_CONVERSATIONS)) {
      for (let n = 1; n <= turns; n++) {
        const t = await turn(port, c, n);
        log(
          `s9 reference: ${c.name}${n} ttft ${t.ttftMs?.toFixed(0) ?? "–"} ms${t.error ? ` (${t.error})` : ""}`,
        );
        out.push(t);
      }
    }
    return systemResult(out, null, started);
  } catch (error) {
    return systemResult(out, (error as Error).message.split("\n")[0] ?? String(error), started);
  } finally {
    await set.stop(server);
  }
}

/** A fresh gateway with `affinity` on or off; conversations interleaved turn by turn. */
async function runGateway(
  set: ProcessSet,
  dir: string,
  gatewayCommand: GatewayCommand,
  binary: string,
  model: string,
  affinity: boolean,
  turns: number,
  log: (line: string) => void,
): Promise<S9System> {
  const name: S9SystemName = affinity ? "affinity" : "round-robin";
  const started = performance.now();
  const gwDir = join(dir, name);
  mkdirSync(gwDir, { recursive: true });
  const config = gatewayConfig({
    llamaServer: binary,
    maxLoadedModels: 1,
    models: [{ id: S9_MODEL_ID, model, args: S9_LLAMA_ARGS, maxConcurrent: 2 }],
  });
  const models = config.models as Record<string, Record<string, unknown>>;
  models[S9_MODEL_ID] = { ...models[S9_MODEL_ID], instances: 2, affinity };
  const out: S9Turn[] = [];
  let gateway: Awaited<ReturnType<typeof startGateway>> | null = null;
  try {
    gateway = await startGateway(set, gatewayCommand, gwDir, config);
    const port = gateway.port;
    // Start both instances before measuring: two short conversations at once.
    const warm = await Promise.all(
      [1, 2].map((i) => streamChat(port, [{ role: "user", content: `warm-up ${i}: say something` }])),
    );
    const failed = warm.find((w) => w.error !== null);
    if (failed) throw new Error(`warm-up failed: ${failed.error}`);
    const list = conversations(S9_CONVERSATIONS);
    for (let n = 1; n <= turns; n++) {
      for (const c of list) {
        const t = await turn(port, c, n);
        log(
          `s9 ${name}: ${c.name}${n} ttft ${t.ttftMs?.toFixed(0) ?? "–"} ms${t.route ? ` [${t.route}]` : ""}${t.error ? ` (${t.error})` : ""}`,
        );
        out.push(t);
      }
    }
    return systemResult(out, null, started);
  } catch (error) {
    return systemResult(out, (error as Error).message.split("\n")[0] ?? String(error), started);
  } finally {
    if (gateway !== null) await set.stop(gateway.process, 20_000);
  }
}

/**
 * Scenario 9. Quick: 3 turns per conversation (6 next turns per system), else 4 (9). About
 * 1.5–2.5 minutes on 2 cores, most of it the round-robin run's cold prefills.
 */
export async function runS9(
  set: ProcessSet,
  dir: string,
  gatewayCommand: GatewayCommand,
  quick: boolean,
  log: (line: string) => void,
): Promise<S9Result> {
  const located = process.env.LLAMA_SERVER_BIN ?? (await locateLlamaServer(null, cacheDir(), process.env));
  if (located === null)
    return {
      skipped: "llama-server is not built: run `npx llamawrapper setup` (about 6 minutes on 2 cores)",
    };
  const binary = (await testAssets(log)).llamaServer;
  const model = await conversationModel();
  const turns = quick ? 3 : 4;
  log(`s9: model ${conversationModelName()} (${(model.bytes / 2 ** 20).toFixed(0)} MB), ${turns} turns`);

  const reference = await runReference(set, binary, model.path, turns, log);
  const affinity = await runGateway(set, dir, gatewayCommand, binary, model.path, true, turns, log);
  const roundRobin = await runGateway(set, dir, gatewayCommand, binary, model.path, false, turns, log);

  const p50 = (s: S9System) => (s.laterTtftMs.n > 0 ? s.laterTtftMs.p50 : null);
  const rate = (a: number | null, b: number | null) => (a === null || b === null || b === 0 ? null : a / b);
  const firstPrompt = reference.turns.find((t) => t.turn === 1 && t.promptTokens !== null);
  return {
    model: {
      name: conversationModelName(),
      embeddingLength: CONVERSATION_MODEL.embeddingLength,
      blockCount: CONVERSATION_MODEL.blockCount,
      feedForwardLength: CONVERSATION_MODEL.feedForwardLength,
      headCount: CONVERSATION_MODEL.headCount,
      params: conversationModelParams(),
      bytes: model.bytes,
    },
    llamaArgs: S9_LLAMA_ARGS,
    conversations: S9_CONVERSATIONS,
    turns,
    firstPromptTokens: firstPrompt?.promptTokens ?? null,
    systems: { reference, affinity, "round-robin": roundRobin },
    affinityOverReference: rate(p50(affinity), p50(reference)),
    roundRobinOverAffinity: rate(p50(roundRobin), p50(affinity)),
  };
}
