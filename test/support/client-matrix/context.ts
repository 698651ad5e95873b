import { randomUUID } from "node:crypto";
import type { Json } from "../../fixtures/fake/client.js";
import { testAssets } from "../assets.js";
import { waitFor } from "../deadline.js";
import { fakeCmd } from "../fake-cmd.js";
import { type RunningGateway, startGateway } from "../gateway-process.js";
import { childGroups, groupMembers } from "../process-tree.js";
import type { ClientId } from "./table.js";
import { templatedTinyModel } from "./templated-model.js";

/** The key every case uses unless it tests keys; the gateway has keys, so none is refused. */
export const MATRIX_KEY = "sk-matrix-key";

/** What a case gets: one gateway in front of the real llama-server, and ways to look at its log. */
export interface MatrixContext {
  /** http://127.0.0.1:PORT, without /v1. */
  readonly url: string;
  readonly key: string;
  /** Chat model (an alias of the templated tiny model). */
  readonly chatModel: string;
  /** The tiny model under its id, for completions. */
  readonly textModel: string;
  /** The tiny model with --embeddings. */
  readonly embedModel: string;
  /** A fake llama-server that answers every inference request 503. */
  readonly flakyModel: string;
  /** A key of its own for each client, allowing one request a minute. */
  rateLimitedKey(client: ClientId): string;
  /** A fresh X-Request-ID to follow one request (and its retries) through the access log. */
  requestId(label: string): string;
  /** Access-log lines of that request id once everything logged so far has arrived. */
  accessLines(requestId: string): Promise<Json[]>;
  /** Waits (bounded) for the access-log line of that request id. */
  accessLine(requestId: string): Promise<Json>;
}

export interface MatrixGateway {
  readonly ctx: MatrixContext;
  /** Stops the gateway; throws when it exits badly or leaves a child process behind. */
  stop(): Promise<void>;
}

const CLIENT_IDS: readonly ClientId[] = [
  "openai",
  "ai-sdk-openai",
  "ai-sdk-compatible",
  "langchain",
  "anthropic-1",
  "anthropic-0",
  "curl",
];

function logLines(output: string, requestId: string): Json[] {
  const needle = `"requestId":"${requestId}"`;
  return output
    .split("\n")
    .filter((line) => line.includes(needle) && line.startsWith("{"))
    .map((line) => JSON.parse(line) as Json)
    .filter((line) => line.requestId === requestId && typeof line.status === "number");
}

/**
 * One gateway for one matrix file: the templated tiny model for chat (aliased gpt-4o-mini),
 * the tiny model with --embeddings, and a fake llama-server that answers 503 for the retry
 * cases. API keys are on, so every client must send one.
 */
export async function startMatrixGateway(): Promise<MatrixGateway> {
  const [assets, templated] = await Promise.all([testAssets(), templatedTinyModel()]);
  const gateway: RunningGateway = await startGateway({
    llamaServer: { binary: assets.llamaServer },
    scheduler: { maxLoadedModels: 3 },
    auth: {
      apiKeys: [
        MATRIX_KEY,
        ...CLIENT_IDS.map((client) => ({
          name: `rate-limited-${client}`,
          key: `sk-rl-${client}`,
          rateLimit: { requestsPerMinute: 1, burst: 1 },
        })),
      ],
    },
    models: {
      // 2 slots of 2048 tokens: a cancelled stream is still generating when its client leaves.
      tiny: { model: templated, args: ["-c", "4096", "-np", "2"], aliases: ["gpt-4o-mini"] },
      "tiny-embed": { model: assets.tinyModel, args: ["-c", "512", "--embeddings", "--pooling", "mean"] },
      flaky: { cmd: fakeCmd("--fake-status", "503") },
    },
  });
  let counter = 0;
  const ctx: MatrixContext = {
    url: gateway.url,
    key: MATRIX_KEY,
    chatModel: "gpt-4o-mini",
    textModel: "tiny",
    embedModel: "tiny-embed",
    flakyModel: "flaky",
    rateLimitedKey: (client) => `sk-rl-${client}`,
    requestId: (label) => `matrix-${label}-${++counter}-${randomUUID().slice(0, 8)}`,
    accessLines: async (requestId) => logLines(await gateway.loggedOutput(), requestId),
    accessLine: (requestId) =>
      waitFor(`the access-log line of ${requestId}`, () => logLines(gateway.output(), requestId)[0], 15_000),
  };
  return {
    ctx,
    stop: async () => {
      const groups = childGroups(gateway.process.pid ?? 0);
      const code = await gateway.stop();
      if (code !== 0) throw new Error(`the gateway exited with ${code}:\n${gateway.output().slice(-3000)}`);
      const left = groupMembers(groups);
      if (left.length > 0) throw new Error(`processes left behind: ${JSON.stringify(left)}`);
    },
  };
}
