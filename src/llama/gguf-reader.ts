import { type FileHandle, open } from "node:fs/promises";
import {
  GGML_TYPES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_KEY_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_SCALAR_SIZE,
  GGUF_TYPE_IDS,
  type GgufArray,
  GgufError,
  type GgufItemType,
  type GgufMetadata,
  type GgufTensorInfo,
  type GgufValue,
  ggmlByteSize,
} from "./gguf-types.js";

/** What the header, metadata and tensor infos of a GGUF file say; no tensor data. */
export interface GgufFile {
  readonly path: string;
  readonly version: number;
  readonly fileSize: number;
  readonly metadata: GgufMetadata;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute file offset of the (aligned) tensor data section. */
  readonly dataOffset: number;
  /** Bytes actually read from disk: the metadata part, not the multi-GB tensor data. */
  readonly bytesRead: number;
}

/** GGML_MAX_DIMS in ggml.h; gguf.cpp rejects tensors with more. */
const MAX_DIMS = 4;
const CHUNK = 1 << 16;

/**
 * A forward-only cursor over a file that reads 64 KiB windows on demand, so that parsing the
 * metadata of a 40 GB model touches only its first few megabytes. Callers check `has(n)` and
 * await `fill(n)` only when the window runs out, which keeps the per-token loop over a
 * 150k-entry vocabulary free of promise overhead.
 */
class Cursor {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;
  bytesRead = 0;
  private readonly fh: FileHandle;
  readonly path: string;
  readonly fileSize: number;

  constructor(fh: FileHandle, path: string, fileSize: number) {
    this.fh = fh;
    this.path = path;
    this.fileSize = fileSize;
  }

  get remaining(): number {
    return this.fileSize - this.pos;
  }

  has(n: number): boolean {
    return this.pos + n <= this.bufStart + this.buf.length;
  }

  async fill(n: number): Promise<void> {
    if (this.has(n)) return;
    if (n > this.remaining) this.fail(`needs ${n} bytes at offset ${this.pos} but the file ends first`);
    const length = Math.min(Math.max(n, CHUNK), this.remaining);
    const next = Buffer.allocUnsafe(length);
    // Keep the unread tail of the old window, so every byte of the file is read at most once.
    let got = this.buf.copy(next, 0, this.pos - this.bufStart);
    while (got < length) {
      const { bytesRead } = await this.fh.read(next, got, length - got, this.pos + got);
      if (bytesRead === 0) this.fail(`file shrank while reading at offset ${this.pos + got}`);
      got += bytesRead;
      this.bytesRead += bytesRead;
    }
    this.buf = next;
    this.bufStart = this.pos;
  }

  /** Takes n bytes that `fill(n)` made available; returns their offset in the window. */
  take(n: number): number {
    const at = this.pos - this.bufStart;
    this.pos += n;
    return at;
  }

  u32(): number {
    return this.buf.readUInt32LE(this.take(4));
  }

  u64(what: string): number {
    const value = this.buf.readBigUInt64LE(this.take(8));
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`${what} ${value} is too large`);
    return Number(value);
  }

  /** Strings are a uint64 length and bytes without a terminator. */
  async string(what: string): Promise<string> {
    if (!this.has(8)) await this.fill(8);
    const length = this.u64(`${what} length`);
    if (length > this.remaining) this.fail(`${what} length ${length} exceeds the rest of the file`);
    if (!this.has(length)) await this.fill(length);
    return this.text(length);
  }

  /**
   * The next string if the window holds all of it, else undefined (and nothing consumed):
   * the fast path for vocabularies, whose 256k tokens would otherwise cost 256k awaits.
   */
  stringInWindow(): string | undefined {
    if (!this.has(8)) return undefined;
    const length = this.buf.readBigUInt64LE(this.pos - this.bufStart);
    if (!this.has(8 + Number(length))) return undefined;
    this.take(8);
    return this.text(Number(length));
  }

  private text(length: number): string {
    const at = this.take(length);
    // Lossy for byte strings that are not UTF-8; llama.cpp's own vocabularies are UTF-8.
    return this.buf.toString("utf8", at, at + length);
  }

  scalar(type: Exclude<GgufItemType, "string">): number | bigint | boolean {
    const at = this.take(GGUF_SCALAR_SIZE[type]);
    const b = this.buf;
    switch (type) {
      case "uint8":
        return b.readUInt8(at);
      case "int8":
        return b.readInt8(at);
      case "uint16":
        return b.readUInt16LE(at);
      case "int16":
        return b.readInt16LE(at);
      case "uint32":
        return b.readUInt32LE(at);
      case "int32":
        return b.readInt32LE(at);
      case "float32":
        return b.readFloatLE(at);
      case "float64":
        return b.readDoubleLE(at);
      case "bool":
        return b.readInt8(at) !== 0;
      case "uint64":
        return b.readBigUInt64LE(at);
      case "int64":
        return b.readBigInt64LE(at);
    }
  }

  fail(message: string): never {
    throw new GgufError(`${this.path}: not a valid GGUF file: ${message}`);
  }
}

function itemType(c: Cursor, id: number, key: string): GgufItemType | "array" {
  const type = GGUF_TYPE_IDS[id];
  if (type === undefined) c.fail(`key '${key}' has unknown value type ${id}`);
  return type;
}

async function readValue(c: Cursor, key: string): Promise<GgufValue> {
  if (!c.has(4)) await c.fill(4);
  const type = itemType(c, c.u32(), key);
  if (type === "array") return readArray(c, key);
  if (type === "string") return { type, value: await c.string(`value of '${key}'`) };
  await c.fill(GGUF_SCALAR_SIZE[type]);
  return { type, value: c.scalar(type) } as GgufValue;
}

async function readArray(c: Cursor, key: string): Promise<GgufArray> {
  await c.fill(12);
  const type = itemType(c, c.u32(), key);
  const count = c.u64(`array length of '${key}'`);
  if (type === "array") c.fail(`key '${key}' is an array of arrays, which GGUF does not allow`);
  if (type === "string") {
    if (count * 8 > c.remaining) c.fail(`array '${key}' of ${count} strings exceeds the file`);
    const value: string[] = [];
    for (let i = 0; i < count; i++)
      value.push(c.stringInWindow() ?? (await c.string(`item ${i} of '${key}'`)));
    return { type: "array", itemType: type, value };
  }
  // Fixed-size items: one bounds check, one read, then a tight decode loop.
  await c.fill(count * GGUF_SCALAR_SIZE[type]);
  const value: (number | bigint | boolean)[] = [];
  for (let i = 0; i < count; i++) value.push(c.scalar(type));
  return { type: "array", itemType: type, value } as GgufArray;
}

async function readTensorInfo(c: Cursor): Promise<GgufTensorInfo> {
  const name = await c.string("tensor name");
  await c.fill(4);
  const nDims = c.u32();
  if (nDims > MAX_DIMS) c.fail(`tensor '${name}' has ${nDims} dimensions, more than ${MAX_DIMS}`);
  await c.fill(nDims * 8 + 12);
  const dims: number[] = [];
  for (let i = 0; i < nDims; i++) dims.push(c.u64(`dimension ${i} of '${name}'`));
  const type = c.u32();
  const offset = c.u64(`offset of '${name}'`);
  const row = GGML_TYPES[type];
  if (row !== undefined && (dims[0] ?? 1) % row[1] !== 0) {
    c.fail(`tensor '${name}' row of ${dims[0]} is not a multiple of the ${row[0]} block size ${row[1]}`);
  }
  return { name, dims, type, offset, byteSize: ggmlByteSize(type, dims) };
}

function alignmentOf(c: Cursor, metadata: GgufMetadata): number {
  const entry = metadata.get(GGUF_KEY_ALIGNMENT);
  if (entry === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (entry.type !== "uint32") c.fail(`${GGUF_KEY_ALIGNMENT} must be uint32, not ${entry.type}`);
  const alignment = entry.value;
  if (alignment === 0 || (alignment & (alignment - 1)) !== 0)
    c.fail(`alignment ${alignment} is not a power of 2`);
  return alignment;
}

async function parse(c: Cursor): Promise<GgufFile> {
  await c.fill(24);
  if (c.u32() !== GGUF_MAGIC) c.fail("bad magic (expected 'GGUF')");
  const version = c.u32();
  // Version 1 used 32-bit lengths and is refused by llama.cpp; a big-endian file reads as a huge version.
  if (version !== 2 && version !== 3)
    c.fail(`unsupported version ${version} (expected 2 or 3, little-endian)`);
  const tensorCount = c.u64("tensor count");
  const kvCount = c.u64("metadata count");
  // Every KV and tensor info takes at least 8 bytes, which bounds both counts by the file size.
  if ((tensorCount + kvCount) * 8 > c.remaining) c.fail("tensor and metadata counts exceed the file size");

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const key = await c.string(`key ${i}`);
    if (key === "") c.fail(`key ${i} is empty`);
    if (metadata.has(key)) c.fail(`duplicate key '${key}'`);
    metadata.set(key, await readValue(c, key));
  }
  const tensors: GgufTensorInfo[] = [];
  for (let i = 0; i < tensorCount; i++) tensors.push(await readTensorInfo(c));

  const alignment = alignmentOf(c, metadata);
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  for (const t of tensors) {
    if (t.offset % alignment !== 0) c.fail(`tensor '${t.name}' offset ${t.offset} is not aligned`);
    if (t.byteSize !== undefined && dataOffset + t.offset + t.byteSize > c.fileSize) {
      c.fail(`tensor '${t.name}' data runs past the end of the file`);
    }
  }
  return {
    path: c.path,
    version,
    fileSize: c.fileSize,
    metadata,
    tensors,
    alignment,
    dataOffset,
    bytesRead: c.bytesRead,
  };
}

/**
 * Reads the header, metadata and tensor infos of a GGUF file, reading only as far into the
 * file as they go. Throws GgufError for anything that gguf.cpp would also refuse to load.
 */
export async function readGgufMetadata(path: string): Promise<GgufFile> {
  const fh = await open(path, "r");
  try {
    const { size } = await fh.stat();
    return await parse(new Cursor(fh, path, size));
  } finally {
    await fh.close();
  }
}

/** The raw bytes of one tensor, for tests and tools; not for loading real models. */
export async function readGgufTensorData(file: GgufFile, name: string): Promise<Buffer> {
  const info = file.tensors.find((t) => t.name === name);
  if (info === undefined) throw new GgufError(`${file.path}: no tensor '${name}'`);
  if (info.byteSize === undefined) throw new GgufError(`${file.path}: tensor '${name}' has an unknown type`);
  const fh = await open(file.path, "r");
  try {
    const out = Buffer.alloc(info.byteSize);
    const { bytesRead } = await fh.read(out, 0, info.byteSize, file.dataOffset + info.offset);
    if (bytesRead !== info.byteSize) throw new GgufError(`${file.path}: tensor '${name}' is truncated`);
    return out;
  } finally {
    await fh.close();
  }
}
