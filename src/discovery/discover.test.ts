import assert from "node:assert/strict";
import { link, mkdir, mkdtemp, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ModelFolder, makeModelFolder } from "../../test/support/model-folder.js";
import type { GgufValue } from "../llama/gguf-types.js";
import { writeGguf } from "../llama/gguf-writer.js";
import { type Discovery, discoverModels, folderFingerprint } from "./discover.js";

const OPTIONS = { maxContext: 8192, memoryBudgetBytes: null };

let root = "";
let folder: ModelFolder;
let found: Discovery;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "discover-test-"));
  folder = await makeModelFolder(join(root, "models"));
  found = await discoverModels(folder.dir, OPTIONS);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let scratchCount = 0;
/** A fresh folder holding hard links to the named model files at the given relative paths. */
async function scratch(files: Record<string, string>): Promise<string> {
  const dir = join(root, `scratch-${++scratchCount}`);
  await mkdir(dir);
  for (const [rel, source] of Object.entries(files)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await link(source, join(dir, rel));
  }
  return dir;
}

/** A small projector file as clip.cpp's converter writes one: architecture clip, a projection width. */
async function writeProjector(path: string, projectionDim = 64): Promise<void> {
  const metadata: [string, GgufValue][] = [
    ["general.architecture", { type: "string", value: "clip" }],
    ["clip.has_vision_encoder", { type: "bool", value: true }],
    ["clip.vision.projection_dim", { type: "uint32", value: projectionDim }],
  ];
  const tensors = [
    { name: "mm.0.weight", dims: [4], type: "F32" as const, data: () => [new Float32Array(4)] },
  ];
  await writeGguf(path, { metadata, tensors });
}

const byId = (d: Discovery) => new Map(d.models.map((m) => [m.id, m]));

describe("discoverModels on the tiny model folder", () => {
  test("finds the chat, embedding, split and plain models, sorted by path", () => {
    assert.deepEqual(
      found.models.map((m) => m.id),
      ["big", "chat", "embed", "plain"],
    );
  });

  test("gives each the flags its metadata asks for", () => {
    const models = byId(found);
    const cases: [id: string, kind: string, path: string, args: string[], trained: number][] = [
      ["chat", "chat", folder.chat, ["-c", "8192"], 32768],
      ["embed", "embedding", folder.embed, ["-c", "512", "--embeddings", "--pooling", "mean"], 512],
      ["big", "chat", folder.big[0], ["-c", "8192"], 32768],
      ["plain", "completion", folder.plain, ["-c", "8192"], 32768],
    ];
    for (const [id, kind, path, args, trained] of cases) {
      const model = models.get(id);
      assert.ok(model !== undefined, id);
      assert.equal(model.kind, kind, id);
      assert.equal(model.path, path, id);
      assert.deepEqual(model.args, args, id);
      assert.equal(model.trainedContext, trained, id);
      assert.equal(model.mmproj, null, id);
      assert.ok(model.reasons.length >= 2, `${id}: kind and context are explained`);
    }
    assert.match(models.get("plain")?.warnings.join("\n") ?? "", /no chat template/);
    assert.deepEqual(models.get("chat")?.warnings, []);
  });

  test("counts every shard of the split model", () => {
    const big = byId(found).get("big");
    assert.deepEqual(big?.shards, folder.big);
    const chat = byId(found).get("chat");
    assert.ok(big !== undefined && chat !== undefined);
    // The same tensors in two files: about the size of one model, more than its first shard.
    assert.ok(Math.abs(big.fileBytes - chat.fileBytes) < 4096, `${big.fileBytes} vs ${chat.fileBytes}`);
    assert.ok(big.estimatedBytes > big.fileBytes);
  });

  test("skips the truncated file as incomplete, and says so", () => {
    assert.equal(found.problems.length, 1);
    const [problem] = found.problems;
    assert.equal(problem?.path, folder.truncated);
    assert.match(problem?.message ?? "", /^incomplete: \d+ bytes, .*\(still being copied\?\)$/);
  });

  test("the fingerprint is folderFingerprint's", async () => {
    assert.equal(found.fingerprint, await folderFingerprint(folder.dir));
  });
});

describe("split models", () => {
  const cases: [what: string, present: (f: ModelFolder) => string, missing: string][] = [
    ["the second shard missing", (f) => f.big[0], "big-00002-of-00002.gguf"],
    ["the first shard missing", (f) => f.big[1], "big-00001-of-00002.gguf"],
  ];
  for (const [what, present, missing] of cases) {
    test(`${what}: a problem naming it, the others still found`, async () => {
      const shard = present(folder);
      const dir = await scratch({ [basename(shard)]: shard, "chat.gguf": folder.chat });
      const d = await discoverModels(dir, OPTIONS);
      assert.deepEqual(
        d.models.map((m) => m.id),
        ["chat"],
      );
      assert.equal(d.problems.length, 1);
      assert.equal(d.problems[0]?.path, join(dir, basename(shard)));
      assert.match(
        d.problems[0]?.message ?? "",
        new RegExp(`missing shard ${missing.replaceAll(".", "\\.")}`),
      );
    });
  }

  test("a truncated shard makes the whole model a problem", async () => {
    const dir = await scratch({ "big-00001-of-00002.gguf": folder.big[0] });
    const second = join(dir, "big-00002-of-00002.gguf");
    await writeFile(second, "");
    const d = await discoverModels(dir, OPTIONS);
    assert.deepEqual(d.models, []);
    assert.equal(d.problems[0]?.path, second);
  });
});

describe("projectors", () => {
  test("attach to the chat model in their folder with the longest shared name", async () => {
    const dir = await scratch({
      "vision/llava-7b-q4.gguf": folder.chat,
      "vision/other-model.gguf": folder.plain,
      "vision/embed.gguf": folder.embed,
      "chat.gguf": folder.chat,
    });
    const projector = join(dir, "vision", "mmproj-llava-7b-f16.gguf");
    await writeProjector(projector);
    const d = await discoverModels(dir, OPTIONS);
    const models = byId(d);
    assert.deepEqual(d.problems, []);
    assert.equal(models.get("llava-7b-q4")?.mmproj, projector);
    assert.deepEqual(models.get("llava-7b-q4")?.args, ["-c", "8192", "--mmproj", projector]);
    for (const id of ["chat", "other-model", "embed"]) assert.equal(models.get(id)?.mmproj, null, id);
    assert.ok(!models.has("mmproj-llava-7b-f16"), "a projector is not a model of its own");
  });

  test("are known by their metadata too, and one serves every quantization of its model", async () => {
    const dir = await scratch({ "Qwen-VL-Q4_K_M.gguf": folder.chat, "Qwen-VL-Q8_0.gguf": folder.chat });
    const projector = join(dir, "vision-encoder-F16.gguf"); // no "mmproj" in the name
    await writeProjector(projector);
    const d = await discoverModels(dir, OPTIONS);
    assert.deepEqual(d.problems, []);
    assert.deepEqual(
      d.models.map((m) => [m.id, m.mmproj]),
      [
        ["Qwen-VL-Q4_K_M", projector],
        ["Qwen-VL-Q8_0", projector],
      ],
    );
  });

  const orphans: [what: string, files: (f: ModelFolder) => Record<string, string>, dim: number][] = [
    ["alone in its folder", (f) => ({ "chat.gguf": f.chat }), 64],
    ["next to an embedding model only", (f) => ({ "sub/embed.gguf": f.embed }), 64],
    ["of another width than the model", (f) => ({ "sub/chat.gguf": f.chat }), 4096],
  ];
  for (const [what, files, dim] of orphans) {
    test(`${what}: a problem`, async () => {
      const dir = await scratch(files(folder));
      const projector = join(dir, "sub", "x-mmproj.gguf");
      await mkdir(dirname(projector), { recursive: true });
      await writeProjector(projector, dim);
      const d = await discoverModels(dir, OPTIONS);
      assert.equal(d.problems.length, 1);
      assert.equal(d.problems[0]?.path, projector);
      assert.match(d.problems[0]?.message ?? "", /projector/);
      assert.ok(d.models.every((m) => m.mmproj === null));
    });
  }
});

describe("the walk", () => {
  test("goes into subfolders, skips hidden and non-GGUF files, survives a symlink loop", async () => {
    const dir = await scratch({
      "a/chat.gguf": folder.chat,
      "b/c/chat.gguf": folder.chat,
      ".hidden/chat.gguf": folder.chat,
      "a/.chat.gguf.x7Yz": folder.chat,
      "notes.gguf.txt": folder.chat,
    });
    await symlink(dir, join(dir, "b", "loop"));
    await symlink(join(dir, "a"), join(dir, "linked"));
    await symlink(join(dir, "gone"), join(dir, "dangling.txt"));
    const d = await discoverModels(dir, OPTIONS);
    assert.deepEqual(
      d.models.map((m) => [m.id, m.path]),
      [
        ["chat", join(dir, "a", "chat.gguf")],
        ["chat-2", join(dir, "b", "c", "chat.gguf")],
      ],
    );
    assert.deepEqual(d.problems, []);
  });

  test("reports files that are not GGUF or not models, and goes on", async () => {
    const dir = await scratch({ "chat.gguf": folder.chat });
    await writeFile(join(dir, "notes.gguf"), "this is not a model\n".repeat(10));
    const adapter = join(dir, "lora.gguf");
    await writeGguf(adapter, {
      metadata: [
        ["general.architecture", { type: "string", value: "llama" }],
        ["general.type", { type: "string", value: "adapter" }],
      ],
      tensors: [],
    });
    await symlink(join(dir, "gone.gguf"), join(dir, "dangling.gguf"));
    const d = await discoverModels(dir, OPTIONS);
    assert.deepEqual(
      d.models.map((m) => m.id),
      ["chat"],
    );
    assert.deepEqual(
      d.problems.map((p) => [basename(p.path), p.message.split(":")[0]]),
      [
        ["dangling.gguf", "cannot read"],
        ["lora.gguf", "a LoRA adapter (general.type adapter), not a model"],
        ["notes.gguf", "not a valid GGUF file"],
      ],
    );
  });

  test("a folder that does not exist rejects", async () => {
    await assert.rejects(discoverModels(join(root, "nowhere"), OPTIONS), /ENOENT/);
  });
});

describe("folderFingerprint", () => {
  test("changes when a model appears, changes size or disappears, not for other files", async () => {
    const dir = await scratch({ "chat.gguf": folder.chat });
    const step = async (what: string, change: () => Promise<void>, changes: boolean) => {
      const before = await folderFingerprint(dir);
      await change();
      const now = await folderFingerprint(dir);
      assert.equal(now !== before, changes, what);
      return now;
    };
    const two = await step("a model copied in", () => link(folder.plain, join(dir, "sub-plain.gguf")), true);
    await step("a text file", () => writeFile(join(dir, "README.md"), "hi"), false);
    await step("a hidden download", () => writeFile(join(dir, ".x.gguf.part"), "hi"), false);
    await step("a partial file grows", () => writeFile(join(dir, "new.gguf"), "GGUF"), true);
    await step("resized", () => truncate(join(dir, "new.gguf"), 2), true);
    const back = await step("removed", () => rm(join(dir, "new.gguf")), true);
    assert.equal(back, two, "the same files, the same fingerprint");
    await step("nothing", async () => {}, false);
  });
});
