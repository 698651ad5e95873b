import assert from "node:assert/strict";
import { test } from "node:test";
import { withDiscovered } from "./discovered-entries.js";
import { parseConfig } from "./load.js";

const found = (path: string) => ({ entry: { model: path, args: ["-c", "4096"] }, from: path });

test("models written in the config win over discovered ones with the same id, alias or file", () => {
  const raw = {
    models: {
      chat: { model: "./mine.gguf", aliases: ["gpt"] },
      other: { model: "./models/other.gguf" },
    },
  };
  const discovered = {
    chat: found("/srv/models/chat.gguf"),
    gpt: found("/srv/models/gpt.gguf"),
    other2: found("/srv/models/other.gguf"),
    embed: found("/srv/models/embed.gguf"),
  };
  const { value, added } = withDiscovered(raw, discovered, (path) => `/srv/${path.replace(/^\.\//, "")}`);
  const models = (value as { models: Record<string, { model: string }> }).models;
  assert.deepEqual(Object.keys(models).sort(), ["chat", "embed", "other"]);
  assert.equal(models.chat?.model, "./mine.gguf", "the written entry is kept as written");
  assert.deepEqual([...added.keys()], ["embed"]);
});

test("a config with only a models folder parses; discovered models are marked with their file", () => {
  const result = parseConfig("", {
    baseDir: "/tmp",
    env: {},
    source: null,
    checkFiles: false,
    discovered: { chat: found("/srv/models/chat.gguf") },
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.problems));
  assert.equal(result.config.models.chat?.discoveredFrom, "/srv/models/chat.gguf");
  assert.deepEqual(result.config.models.chat?.launch, {
    kind: "model",
    model: "/srv/models/chat.gguf",
    args: ["-c", "4096"],
  });
});
