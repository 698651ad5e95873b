import assert from "node:assert/strict";
import { test } from "node:test";
import type { ModelConfig } from "../../config/types.js";
import { contextSize } from "./model-info.js";

function model(
  args: string[],
  env: Record<string, string> = {},
  form: "model" | "cmd" = "model",
): Pick<ModelConfig, "launch" | "env"> {
  return {
    launch: form === "model" ? { kind: "model", model: "/m.gguf", args } : { kind: "cmd", cmd: args },
    env,
  };
}

test("the context size comes from the last -c/--ctx-size, else LLAMA_ARG_CTX_SIZE, else null", () => {
  assert.equal(contextSize(model(["-c", "1024", "-np", "2"])), 1024);
  assert.equal(contextSize(model(["-c", "1024", "--ctx-size", "4096"])), 4096);
  assert.equal(contextSize(model(["--ctx-size=2048"])), 2048);
  assert.equal(contextSize(model(["llama-server", "--port", "${PORT}", "-c", "512"], {}, "cmd")), 512);
  assert.equal(contextSize(model([], { LLAMA_ARG_CTX_SIZE: "8192" })), 8192);
  assert.equal(contextSize(model(["-c", "0"])), null);
  assert.equal(contextSize(model(["-ngl", "99"])), null);
});
