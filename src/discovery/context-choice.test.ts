import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { GgufModelInfo } from "../llama/gguf-model-info.js";
import { estimateBytes } from "../scheduler/memory-estimate.js";
import { batchArgs, chooseContext } from "./context-choice.js";

const MiB = 2 ** 20;

/** 1 GiB of weights; KV: 32 layers × 8 heads × (128 + 128) × 2 bytes = 128 KiB per token. */
function info(contextLength: number | undefined): GgufModelInfo {
  return {
    architecture: "llama",
    name: undefined,
    contextLength,
    blockCount: 32,
    embeddingLength: 4096,
    feedForwardLength: undefined,
    headCount: 32,
    headCountKv: 8,
    keyLength: 128,
    valueLength: 128,
    vocabSize: undefined,
    fileType: undefined,
    fileSize: 1024 * MiB,
    tensorBytes: undefined,
  };
}

describe("chooseContext", () => {
  const cases: [
    what: string,
    trained: number | undefined,
    max: number,
    budget: number | null,
    want: number | null,
  ][] = [
    ["trained below the cap", 4096, 8192, null, 4096],
    ["capped", 131072, 8192, null, 8192],
    ["budget roomy", 131072, 8192, 4096 * MiB, 8192],
    // 1 GiB + 128 KiB × n ≤ 1.5 GiB → n ≤ 4096
    ["budget lowers it", 131072, 8192, 1536 * MiB, 4096],
    ["lowered to a multiple of 256", 131072, 8192, 1024 * MiB + 1000 * 128 * 1024, 768],
    ["never below 512", 131072, 8192, 1025 * MiB, 512],
    ["no trained context: no -c", undefined, 8192, 1536 * MiB, null],
  ];
  for (const [what, trained, maxContext, memoryBudgetBytes, want] of cases) {
    test(what, () => {
      const choice = chooseContext(info(trained), { maxContext, memoryBudgetBytes }, "llama.context_length");
      assert.equal(choice.context, want);
      assert.deepEqual(choice.args, want === null ? [] : ["-c", String(want)]);
      assert.equal(choice.estimatedBytes, estimateBytes(info(trained), want, 1));
      if (memoryBudgetBytes !== null && want !== null && want > 512) {
        assert.ok(choice.estimatedBytes <= memoryBudgetBytes, "the estimate fits the budget");
      }
    });
  }

  test("explains the cap and the lowering, and warns when even 512 does not fit", () => {
    const lowered = chooseContext(
      info(131072),
      { maxContext: 8192, memoryBudgetBytes: 1536 * MiB },
      "llama.context_length",
    );
    assert.match(
      lowered.reasons[0] ?? "",
      /llama\.context_length = 131072, capped by discovery\.maxContext 8192/,
    );
    assert.match(lowered.reasons[1] ?? "", /lowered from 8192 to 4096/);
    assert.deepEqual(lowered.warnings, []);
    const tight = chooseContext(
      info(131072),
      { maxContext: 8192, memoryBudgetBytes: 512 * MiB },
      "llama.context_length",
    );
    assert.equal(tight.context, 512);
    assert.match(tight.warnings[0] ?? "", /more than the memory budget/);
  });
});

describe("batchArgs", () => {
  const cases: [kind: "chat" | "embedding" | "reranker", context: number | null, args: string[]][] = [
    ["chat", 8192, []],
    ["embedding", 512, []],
    ["embedding", null, []],
    ["embedding", 8192, ["-b", "8192", "-ub", "8192"]],
    ["reranker", 1024, ["-b", "1024", "-ub", "1024"]],
  ];
  for (const [kind, context, args] of cases) {
    test(`${kind} at ${context}`, () => assert.deepEqual(batchArgs(kind, context).args, args));
  }
});
