import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { modelNameError } from "../config/model-name.js";
import { idFromFileName, uniqueIds } from "./model-id.js";

describe("idFromFileName", () => {
  const cases: [file: string, id: string][] = [
    ["/m/qwen2.5-7b-instruct-q4_k_m.gguf", "qwen2.5-7b-instruct-q4_k_m"],
    ["/m/My Model (final).gguf", "My-Model-final"],
    ["/m/modèle-français.gguf", "modele-francais"],
    ["/m/日本語.gguf", "model"],
    ["/m/llama 日本 7b.gguf", "llama-7b"],
    ["/m/Big-Model-00001-of-00003.gguf", "Big-Model"],
    ["/m/Big-Model-00003-of-00003.GGUF", "Big-Model"],
    ["/m/x-0001-of-0003.gguf", "x-0001-of-0003"], // not llama.cpp's five-digit pattern
    ["/m/a:b/c.gguf", "c"],
    ["/m/-dash-.gguf", "dash"],
    ["/m/..gguf", "model"],
    ["/m/__proto__.gguf", "model"],
    ["/m/v1.5.gguf", "v1.5"],
    [`/m/${"x".repeat(300)}.gguf`, "x".repeat(124)],
  ];
  for (const [file, id] of cases) {
    test(`${file.slice(0, 40)} → ${id.slice(0, 40)}`, () => {
      const got = idFromFileName(file);
      assert.equal(got, id);
      assert.equal(modelNameError(got), null);
    });
  }
});

describe("uniqueIds", () => {
  const cases: [what: string, paths: string[], ids: string[]][] = [
    ["distinct names", ["/m/a.gguf", "/m/b.gguf"], ["a", "b"]],
    [
      "duplicates in subfolders, in path order",
      ["/m/a.gguf", "/m/x/a.gguf", "/m/y/a.gguf"],
      ["a", "a-2", "a-3"],
    ],
    [
      "a file's own name wins over a duplicate's suffix",
      ["/m/a.gguf", "/m/b/a.gguf", "/m/c/a-2.gguf"],
      ["a", "a-3", "a-2"],
    ],
    ["names that become equal", ["/m/my model.gguf", "/m/my-model.gguf"], ["my-model", "my-model-2"]],
  ];
  for (const [what, paths, ids] of cases) {
    test(what, () => assert.deepEqual(uniqueIds(paths), ids));
  }
});
