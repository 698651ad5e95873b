import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { GgufValue } from "../llama/gguf-types.js";
import { chooseKind } from "./model-kind.js";

const str = (value: string): GgufValue => ({ type: "string", value });
const u32 = (value: number): GgufValue => ({ type: "uint32", value });
const bool = (value: boolean): GgufValue => ({ type: "bool", value });
const TEMPLATE: [string, GgufValue] = ["tokenizer.chat_template", str("{{ messages }}")];

describe("chooseKind", () => {
  const cases: [what: string, metadata: [string, GgufValue][], kind: string, args: string[]][] = [
    ["llama with a chat template", [["general.architecture", str("llama")], TEMPLATE], "chat", []],
    ["llama without one", [["general.architecture", str("llama")]], "completion", []],
    [
      "bert with mean pooling",
      [
        ["general.architecture", str("bert")],
        ["bert.pooling_type", u32(1)],
      ],
      "embedding",
      ["--embeddings", "--pooling", "mean"],
    ],
    [
      "nomic-bert, cls pooling",
      [
        ["general.architecture", str("nomic-bert")],
        ["nomic-bert.pooling_type", u32(2)],
      ],
      "embedding",
      ["--embeddings", "--pooling", "cls"],
    ],
    ["bert without pooling_type", [["general.architecture", str("bert")]], "embedding", ["--embeddings"]],
    [
      "a decoder with last pooling (an embedding fine-tune)",
      [["general.architecture", str("qwen3")], ["qwen3.pooling_type", u32(3)], TEMPLATE],
      "embedding",
      ["--embeddings", "--pooling", "last"],
    ],
    [
      "pooling none",
      [
        ["general.architecture", str("jina-bert-v2")],
        ["jina-bert-v2.pooling_type", u32(0)],
      ],
      "embedding",
      ["--embeddings", "--pooling", "none"],
    ],
    [
      "rank pooling: a reranker",
      [["general.architecture", str("qwen3")], ["qwen3.pooling_type", u32(4)], TEMPLATE],
      "reranker",
      ["--reranking"],
    ],
    [
      "bert reranker",
      [
        ["general.architecture", str("bert")],
        ["bert.pooling_type", u32(4)],
      ],
      "reranker",
      ["--reranking"],
    ],
    [
      "non-causal without a template",
      [
        ["general.architecture", str("llama")],
        ["llama.attention.causal", bool(false)],
      ],
      "embedding",
      ["--embeddings"],
    ],
    [
      "non-causal with a template (a diffusion model)",
      [["general.architecture", str("dream")], ["dream.attention.causal", bool(false)], TEMPLATE],
      "chat",
      [],
    ],
    ["no architecture at all", [], "completion", []],
  ];
  for (const [what, metadata, kind, args] of cases) {
    test(what, () => {
      const choice = chooseKind(new Map(metadata));
      assert.equal(choice.kind, kind);
      assert.deepEqual(choice.args, args);
      assert.equal(choice.reasons.length, 1);
    });
  }

  test("says which metadata it went by, and warns where the result needs attention", () => {
    const embed = chooseKind(
      new Map([
        ["general.architecture", str("bert")],
        ["bert.pooling_type", u32(1)],
      ]),
    );
    assert.match(embed.reasons[0] ?? "", /bert\.pooling_type = 1 \(mean\)/);
    assert.deepEqual(embed.warnings, []);
    const plain = chooseKind(new Map([["general.architecture", str("llama")]]));
    assert.match(plain.warnings[0] ?? "", /no chat template/);
    const none = chooseKind(
      new Map([
        ["general.architecture", str("bert")],
        ["bert.pooling_type", u32(0)],
      ]),
    );
    assert.match(none.warnings[0] ?? "", /\/v1\/embeddings refuses/);
  });
});
