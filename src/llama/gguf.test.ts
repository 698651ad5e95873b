import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { f16BitsToF32, f32ToF16Bits } from "./gguf-f16.js";
import { describeGgufModel, ggufNumber, ggufString } from "./gguf-model-info.js";
import { readGgufMetadata, readGgufTensorData } from "./gguf-reader.js";
import { GgufError, type GgufValue } from "./gguf-types.js";
import { type GgufTensorSource, writeGguf } from "./gguf-writer.js";

/** Where the llama.cpp vocabulary lives; the lead replaces this with the project's locator. */
function vocabPath(): string {
  return (
    process.env.LLAMA_VOCAB ??
    "/root/.cache/llamawrapper/llama-server/de3ff815ea7d-cpu/src/models/ggml-vocab-llama-spm.gguf"
  );
}

const EVERY_TYPE: [string, GgufValue][] = [
  ["u8", { type: "uint8", value: 255 }],
  ["i8", { type: "int8", value: -128 }],
  ["u16", { type: "uint16", value: 65535 }],
  ["i16", { type: "int16", value: -32768 }],
  ["u32", { type: "uint32", value: 4294967295 }],
  ["i32", { type: "int32", value: -2147483648 }],
  ["f32", { type: "float32", value: -1.5 }],
  ["f64", { type: "float64", value: Math.PI }],
  ["bool.true", { type: "bool", value: true }],
  ["bool.false", { type: "bool", value: false }],
  ["str", { type: "string", value: "héllo ▁wörld 🦙" }],
  ["str.empty", { type: "string", value: "" }],
  ["u64", { type: "uint64", value: 2n ** 64n - 1n }],
  ["i64", { type: "int64", value: -(2n ** 63n) }],
  ["arr.u8", { type: "array", itemType: "uint8", value: [0, 1, 255] }],
  ["arr.i8", { type: "array", itemType: "int8", value: [-128, 0, 127] }],
  ["arr.u16", { type: "array", itemType: "uint16", value: [65535] }],
  ["arr.i16", { type: "array", itemType: "int16", value: [-1, 2] }],
  ["arr.u32", { type: "array", itemType: "uint32", value: [1, 4294967295] }],
  ["arr.i32", { type: "array", itemType: "int32", value: [-5, 6, 7] }],
  ["arr.f32", { type: "array", itemType: "float32", value: [0.5, -0.25, 1e10] }],
  ["arr.f64", { type: "array", itemType: "float64", value: [Math.E, -0] }],
  ["arr.bool", { type: "array", itemType: "bool", value: [true, false, true] }],
  ["arr.str", { type: "array", itemType: "string", value: ["<unk>", "", "▁the", "日本"] }],
  ["arr.u64", { type: "array", itemType: "uint64", value: [0n, 2n ** 63n] }],
  ["arr.i64", { type: "array", itemType: "int64", value: [-1n, 1n] }],
  ["arr.empty", { type: "array", itemType: "string", value: [] }],
];

const ramp = (n: number, scale = 1) => Float32Array.from({ length: n }, (_, i) => (i - n / 2) * scale);

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "gguf-test-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("GGUF writer and reader", () => {
  test("round-trips every metadata type and F32/F16 tensors with aligned offsets", async () => {
    const path = join(dir, "all.gguf");
    const tensors: GgufTensorSource[] = [
      // 7 × 3 F32 = 84 bytes and 5 F16 = 10 bytes: both need padding to the next 32.
      { name: "a", dims: [7, 3], type: "F32", data: () => [ramp(10), ramp(11)] },
      { name: "b", dims: [5], type: "F16", data: () => [Float32Array.of(1, -2, 0.5, 65504, 0.1)] },
      { name: "c", dims: [2, 2, 2, 2], type: "F32", data: () => [ramp(16, 0.5)] },
    ];
    const { bytes } = await writeGguf(path, { metadata: EVERY_TYPE, tensors });
    const file = await readGgufMetadata(path);
    assert.equal(file.version, 3);
    assert.equal(file.fileSize, bytes);
    assert.deepEqual([...file.metadata], EVERY_TYPE);
    assert.equal(file.alignment, 32);
    assert.equal(file.dataOffset % 32, 0);
    assert.deepEqual(
      file.tensors.map((t) => [t.name, t.dims, t.type, t.offset, t.byteSize]),
      [
        ["a", [7, 3], 0, 0, 84],
        ["b", [5], 1, 96, 10],
        ["c", [2, 2, 2, 2], 0, 128, 64],
      ],
    );
    assert.equal(file.fileSize, file.dataOffset + 128 + 64);
    const a = await readGgufTensorData(file, "a");
    assert.deepEqual(
      new Float32Array(a.buffer, a.byteOffset, 21),
      Float32Array.from([...ramp(10), ...ramp(11)]),
    );
    const b = await readGgufTensorData(file, "b");
    const halves = Array.from({ length: 5 }, (_, i) => f16BitsToF32(b.readUInt16LE(i * 2)));
    assert.deepEqual(halves, [1, -2, 0.5, 65504, f16BitsToF32(0x2e66)]);
  });

  test("creates the folder it writes into (make-tiny-model models/x.gguf on a fresh clone)", async () => {
    const path = join(dir, "new", "folder", "m.gguf");
    await writeGguf(path, { metadata: [["general.name", { type: "string", value: "m" }]], tensors: [] });
    assert.equal((await readGgufMetadata(path)).metadata.get("general.name")?.value, "m");
  });

  test("honours general.alignment", async () => {
    const path = join(dir, "align.gguf");
    const metadata: [string, GgufValue][] = [["general.alignment", { type: "uint32", value: 256 }]];
    const tensors: GgufTensorSource[] = [
      { name: "x", dims: [3], type: "F32", data: () => [ramp(3)] },
      { name: "y", dims: [3], type: "F32", data: () => [ramp(3)] },
    ];
    await writeGguf(path, { metadata, tensors });
    const file = await readGgufMetadata(path);
    assert.equal(file.alignment, 256);
    assert.equal(file.dataOffset % 256, 0);
    assert.deepEqual(
      file.tensors.map((t) => t.offset),
      [0, 256],
    );
  });

  test("reads the metadata without reading the tensor data", async () => {
    const path = join(dir, "big.gguf");
    const n = 4 * 1024 * 1024;
    const tensors: GgufTensorSource[] = [
      { name: "big", dims: [1024, n / 1024], type: "F32", data: () => [new Float32Array(n)] },
    ];
    await writeGguf(path, { metadata: [["general.name", { type: "string", value: "big" }]], tensors });
    const file = await readGgufMetadata(path);
    assert.equal(file.fileSize, file.dataOffset + n * 4);
    assert.ok(file.bytesRead <= 65536, `read ${file.bytesRead} bytes of ${file.fileSize}`);
  });

  test("refuses bad values and tensors with the wrong element count, leaving no file", async () => {
    const path = join(dir, "bad.gguf");
    await assert.rejects(
      writeGguf(path, { metadata: [["k", { type: "uint8", value: 256 }]], tensors: [] }),
      GgufError,
    );
    await assert.rejects(
      writeGguf(path, { metadata: [["k", { type: "int32", value: 1.5 }]], tensors: [] }),
      GgufError,
    );
    await assert.rejects(
      writeGguf(path, { metadata: [["general.alignment", { type: "uint64", value: 32n }]], tensors: [] }),
      GgufError,
    );
    const short: GgufTensorSource = { name: "s", dims: [4, 4], type: "F32", data: () => [ramp(15)] };
    await assert.rejects(writeGguf(path, { metadata: [], tensors: [short] }), /yielded 15 values/);
    assert.equal(existsSync(path), false);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith(".tmp")),
      [],
    );
  });

  test("rejects files that are not GGUF or are cut short", async () => {
    const notGguf = join(dir, "not.gguf");
    await writeFile(notGguf, "GGML this is something else entirely");
    await assert.rejects(readGgufMetadata(notGguf), /bad magic/);

    const cut = join(dir, "cut.gguf");
    await writeGguf(cut, { metadata: EVERY_TYPE, tensors: [] });
    const whole = await readFile(cut);
    await truncate(cut, whole.length - 40);
    await assert.rejects(readGgufMetadata(cut), GgufError);

    const huge = join(dir, "huge.gguf");
    const header = Buffer.alloc(24);
    header.write("GGUF", 0, "latin1");
    header.writeUInt32LE(3, 4);
    header.writeBigUInt64LE(0n, 8);
    header.writeBigUInt64LE(1n << 40n, 16); // 10^12 keys in a 24-byte file
    await writeFile(huge, header);
    await assert.rejects(readGgufMetadata(huge), /counts exceed/);
  });
});

describe("F16 conversion", () => {
  test("matches IEEE 754 half precision, rounding to nearest even", () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff],
      [65520, 0x7c00], // rounds up to infinity
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // a tie: rounds to even (zero)
      [1 + 2 ** -11, 0x3c00], // a tie: rounds to even
      [1 + 3 * 2 ** -11, 0x3c02],
      [Number.POSITIVE_INFINITY, 0x7c00],
    ];
    for (const [value, bits] of cases) assert.equal(f32ToF16Bits(value), bits, `f16(${value})`);
    assert.ok(Number.isNaN(f16BitsToF32(f32ToF16Bits(Number.NaN))));
  });
});

describe("the real llama.cpp vocabulary", () => {
  const path = vocabPath();
  test("has the 32k SPM llama tokenizer", {
    skip: existsSync(path) ? false : `no vocabulary at ${path}`,
  }, async () => {
    const file = await readGgufMetadata(path);
    const m = file.metadata;
    assert.equal(ggufString(m, "tokenizer.ggml.model"), "llama");
    const tokens = m.get("tokenizer.ggml.tokens");
    assert.ok(tokens?.type === "array" && tokens.itemType === "string");
    assert.equal(tokens.value.length, 32000);
    assert.deepEqual(tokens.value.slice(0, 3), ["<unk>", "<s>", "</s>"]);
    assert.equal(ggufNumber(m, "tokenizer.ggml.bos_token_id"), 1);
    assert.equal(ggufNumber(m, "tokenizer.ggml.eos_token_id"), 2);
    assert.deepEqual(m.get("tokenizer.ggml.add_bos_token"), { type: "bool", value: true });
    assert.equal(file.tensors.length, 0);
    const info = describeGgufModel(file);
    assert.equal(info.architecture, "llama");
    assert.equal(info.contextLength, 4096);
    assert.equal(info.blockCount, 32);
    assert.equal(info.vocabSize, 32000);
    assert.equal(info.keyLength, 128);
  });
});
