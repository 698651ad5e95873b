import { randomBytes } from "node:crypto";
import { type FileHandle, mkdir, open, rename, rm } from "node:fs/promises";
import { endianness } from "node:os";
import { dirname } from "node:path";
import { f32ToF16Bits } from "./gguf-f16.js";
import {
  GGML_TYPE_F16,
  GGML_TYPE_F32,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_KEY_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_SCALAR_SIZE,
  GGUF_VERSION,
  GgufError,
  type GgufItemType,
  type GgufValue,
  ggufTypeId,
} from "./gguf-types.js";

export type GgufTensorType = "F32" | "F16";

export interface GgufTensorSource {
  readonly name: string;
  /** ne[0] first: the fastest-varying (input) dimension. */
  readonly dims: readonly number[];
  readonly type: GgufTensorType;
  /**
   * Yields the values in ggml order (ne[0] fastest), in chunks of any size. Called once, when
   * the tensor's turn comes, so a generator keeps only one chunk in memory at a time.
   */
  readonly data: () => Iterable<Float32Array>;
}

export interface GgufWriteInput {
  readonly metadata: Iterable<readonly [string, GgufValue]>;
  readonly tensors: readonly GgufTensorSource[];
}

export interface GgufWriteResult {
  readonly path: string;
  readonly bytes: number;
}

const MAX_DIMS = 4;
const STAGE_BYTES = 1 << 20;
const BYTES_PER_VALUE: Readonly<Record<GgufTensorType, number>> = { F32: 4, F16: 2 };

const INT_RANGES: Partial<Record<GgufItemType, readonly [number, number]>> = {
  uint8: [0, 0xff],
  int8: [-0x80, 0x7f],
  uint16: [0, 0xffff],
  int16: [-0x8000, 0x7fff],
  uint32: [0, 0xffffffff],
  int32: [-0x80000000, 0x7fffffff],
};

/** Collects small encoded pieces of the header; the header is at most a few MB (the vocabulary). */
class Pieces {
  readonly parts: Buffer[] = [];
  length = 0;

  push(part: Buffer): void {
    this.parts.push(part);
    this.length += part.length;
  }

  u32(value: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(value);
    this.push(b);
  }

  u64(value: number | bigint): void {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64LE(BigInt(value));
    this.push(b);
  }

  string(value: string): void {
    const bytes = Buffer.from(value, "utf8");
    this.u64(bytes.length);
    this.push(bytes);
  }

  scalar(type: Exclude<GgufItemType, "string">, value: number | bigint | boolean, key: string): void {
    const range = INT_RANGES[type];
    if (
      range !== undefined &&
      (!Number.isInteger(value) || Number(value) < range[0] || Number(value) > range[1])
    ) {
      throw new GgufError(`metadata '${key}': ${String(value)} is not a valid ${type}`);
    }
    const b = Buffer.allocUnsafe(GGUF_SCALAR_SIZE[type]);
    const n = value as number;
    const big = value as bigint;
    if (type === "uint8") b.writeUInt8(n);
    else if (type === "int8") b.writeInt8(n);
    else if (type === "uint16") b.writeUInt16LE(n);
    else if (type === "int16") b.writeInt16LE(n);
    else if (type === "uint32") b.writeUInt32LE(n);
    else if (type === "int32") b.writeInt32LE(n);
    else if (type === "float32") b.writeFloatLE(n);
    else if (type === "float64") b.writeDoubleLE(n);
    else if (type === "bool") b.writeInt8(value ? 1 : 0);
    else if (type === "uint64") b.writeBigUInt64LE(big);
    else b.writeBigInt64LE(big);
    this.push(b);
  }

  value(key: string, entry: GgufValue): void {
    this.u32(ggufTypeId(entry.type));
    if (entry.type === "string") {
      this.string(entry.value);
      return;
    }
    if (entry.type !== "array") {
      this.scalar(entry.type, entry.value, key);
      return;
    }
    this.u32(ggufTypeId(entry.itemType));
    this.u64(entry.value.length);
    for (const item of entry.value) {
      if (entry.itemType === "string") this.string(item as string);
      else this.scalar(entry.itemType, item as number | bigint | boolean, key);
    }
  }
}

function alignmentOf(metadata: ReadonlyMap<string, GgufValue>): number {
  const entry = metadata.get(GGUF_KEY_ALIGNMENT);
  if (entry === undefined) return GGUF_DEFAULT_ALIGNMENT;
  // gguf.cpp refuses any other type for this key.
  if (entry.type !== "uint32" || entry.value === 0 || (entry.value & (entry.value - 1)) !== 0) {
    throw new GgufError(`${GGUF_KEY_ALIGNMENT} must be a uint32 power of 2`);
  }
  return entry.value;
}

const padTo = (n: number, alignment: number): number => Math.ceil(n / alignment) * alignment;
const elementsOf = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

function checkTensor(t: GgufTensorSource, seen: Set<string>): void {
  if (t.name === "" || seen.has(t.name)) throw new GgufError(`tensor name '${t.name}' is empty or repeated`);
  seen.add(t.name);
  if (
    t.dims.length === 0 ||
    t.dims.length > MAX_DIMS ||
    t.dims.some((d) => !Number.isSafeInteger(d) || d < 0)
  ) {
    throw new GgufError(`tensor '${t.name}' has invalid dimensions [${t.dims.join(", ")}]`);
  }
}

/** Encodes everything before the tensor data, padded so the data section starts aligned. */
function encodeHeader(input: GgufWriteInput): { header: Buffer; alignment: number } {
  const metadata = new Map<string, GgufValue>();
  for (const [key, value] of input.metadata) {
    if (key === "" || metadata.has(key)) throw new GgufError(`metadata key '${key}' is empty or repeated`);
    metadata.set(key, value);
  }
  const alignment = alignmentOf(metadata);
  const out = new Pieces();
  out.u32(GGUF_MAGIC);
  out.u32(GGUF_VERSION);
  out.u64(input.tensors.length);
  out.u64(metadata.size);
  for (const [key, value] of metadata) {
    out.string(key);
    out.value(key, value);
  }
  const seen = new Set<string>();
  let offset = 0;
  for (const t of input.tensors) {
    checkTensor(t, seen);
    out.string(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(t.type === "F32" ? GGML_TYPE_F32 : GGML_TYPE_F16);
    out.u64(offset);
    // gguf.cpp requires each tensor to start where the previous one's padded data ends.
    offset += padTo(elementsOf(t.dims) * BYTES_PER_VALUE[t.type], alignment);
  }
  out.push(Buffer.alloc(padTo(out.length, alignment) - out.length));
  return { header: Buffer.concat(out.parts, out.length), alignment };
}

/** Batches writes into 1 MiB blocks so generators may yield small chunks cheaply. */
class StagedFile {
  private stage = Buffer.allocUnsafe(STAGE_BYTES);
  private used = 0;
  written = 0;
  private readonly fh: FileHandle;

  constructor(fh: FileHandle) {
    this.fh = fh;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.used + bytes.length > STAGE_BYTES) await this.flush();
    if (bytes.length >= STAGE_BYTES) {
      await this.fh.write(bytes);
    } else {
      this.stage.set(bytes, this.used);
      this.used += bytes.length;
    }
    this.written += bytes.length;
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.fh.write(this.stage.subarray(0, this.used));
    // A fresh stage: fh.write may still hold a reference to the bytes it was given.
    this.stage = Buffer.allocUnsafe(STAGE_BYTES);
    this.used = 0;
  }
}

function encodeChunk(chunk: Float32Array, type: GgufTensorType): Uint8Array {
  if (type === "F32") return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const half = new Uint16Array(chunk.length);
  for (let i = 0; i < chunk.length; i++) half[i] = f32ToF16Bits(chunk[i] ?? 0);
  return new Uint8Array(half.buffer);
}

async function writeTensor(file: StagedFile, t: GgufTensorSource, alignment: number): Promise<void> {
  const expected = elementsOf(t.dims);
  let count = 0;
  for (const chunk of t.data()) {
    count += chunk.length;
    if (count > expected) break;
    await file.write(encodeChunk(chunk, t.type));
  }
  if (count !== expected) {
    throw new GgufError(`tensor '${t.name}' yielded ${count} values, its dimensions need ${expected}`);
  }
  const bytes = expected * BYTES_PER_VALUE[t.type];
  await file.write(new Uint8Array(padTo(bytes, alignment) - bytes));
}

/**
 * Writes a GGUF v3 file: header, metadata, tensor infos, then each tensor's data streamed
 * from its generator and padded to the alignment (`general.alignment`, default 32). The file
 * appears at `path` only when complete (written next to it, then renamed), so a crash never
 * leaves a truncated model for llama-server to choke on.
 */
export async function writeGguf(path: string, input: GgufWriteInput): Promise<GgufWriteResult> {
  // Tensor data is copied from Float32Array memory as is, and GGUF is little-endian.
  if (endianness() !== "LE") throw new GgufError("writing GGUF needs a little-endian host");
  const { header, alignment } = encodeHeader(input);
  // The folder is created if needed: `make-tiny-model models/x.gguf` on a fresh clone has none.
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  const fh = await open(temp, "wx");
  try {
    const file = new StagedFile(fh);
    await file.write(header);
    for (const t of input.tensors) await writeTensor(file, t, alignment);
    await file.flush();
    await fh.close();
    await rename(temp, path);
    return { path, bytes: file.written };
  } catch (error) {
    await fh.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}
