import assert from "node:assert/strict";
import { test } from "node:test";
import type { GgufModelInfo } from "../llama/gguf-model-info.js";
import { contextFromArgs, estimateBytes } from "./memory-estimate.js";

const llama8b: GgufModelInfo = {
  architecture: "llama",
  name: "Llama 3.1 8B",
  contextLength: 131072,
  blockCount: 32,
  embeddingLength: 4096,
  feedForwardLength: 14336,
  headCount: 32,
  headCountKv: 8,
  keyLength: 128,
  valueLength: 128,
  vocabSize: 128256,
  fileType: 15,
  fileSize: 4_920_000_000,
  tensorBytes: 4_900_000_000,
};

test("the estimate is the file plus an f16 KV cache for the context, per instance", () => {
  // 32 layers × 8192 positions × 8 heads × (128 + 128) × 2 bytes = 1 GiB of KV cache.
  assert.equal(estimateBytes(llama8b, 8192, 1), 4_920_000_000 + 1024 ** 3);
  assert.equal(estimateBytes(llama8b, 8192, 2), 2 * (4_920_000_000 + 1024 ** 3));
  // No -c (or -c 0): llama-server uses the trained context, 16 times more cache here.
  assert.equal(estimateBytes(llama8b, null, 1), 4_920_000_000 + 16 * 1024 ** 3);
});

test("the context size comes from -c, --ctx-size or --ctx-size=N", () => {
  assert.equal(contextFromArgs(["-ngl", "99", "-c", "4096"]), 4096);
  assert.equal(contextFromArgs(["--ctx-size=2048"]), 2048);
  assert.equal(contextFromArgs(["--ctx-size", "0"]), 0);
  assert.equal(contextFromArgs(["-np", "4"]), null);
});
