/**
 * The GGUF data model shared by the reader and the writer. Layout and type ids follow
 * llama.cpp's ggml/include/gguf.h (format version 3); the ids are part of the file format,
 * so they are spelled out here rather than derived.
 */

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
export const GGUF_KEY_ALIGNMENT = "general.alignment";

export type GgufNumberType =
  | "uint8"
  | "int8"
  | "uint16"
  | "int16"
  | "uint32"
  | "int32"
  | "float32"
  | "float64";
export type GgufBigIntType = "uint64" | "int64";
export type GgufItemType = GgufNumberType | GgufBigIntType | "bool" | "string";

/**
 * One metadata value with its on-disk type kept, so that copying a value from one file to
 * another (tokenizer metadata into a tiny model) writes exactly what llama.cpp expects:
 * it rejects e.g. `general.alignment` stored as anything but uint32.
 */
export type GgufValue =
  | { readonly type: GgufNumberType; readonly value: number }
  | { readonly type: GgufBigIntType; readonly value: bigint }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "string"; readonly value: string }
  | GgufArray;

/** Arrays hold scalars only: gguf.cpp refuses arrays of arrays. */
export type GgufArray =
  | { readonly type: "array"; readonly itemType: GgufNumberType; readonly value: readonly number[] }
  | { readonly type: "array"; readonly itemType: GgufBigIntType; readonly value: readonly bigint[] }
  | { readonly type: "array"; readonly itemType: "bool"; readonly value: readonly boolean[] }
  | { readonly type: "array"; readonly itemType: "string"; readonly value: readonly string[] };

/** Metadata in file order; a Map because GGUF keys are unique (gguf.cpp rejects duplicates). */
export type GgufMetadata = ReadonlyMap<string, GgufValue>;

/** gguf_type ids, indexable by id. Index 9 is GGUF_TYPE_ARRAY. */
export const GGUF_TYPE_IDS: readonly (GgufItemType | "array")[] = [
  "uint8",
  "int8",
  "uint16",
  "int16",
  "uint32",
  "int32",
  "float32",
  "bool",
  "string",
  "array",
  "uint64",
  "int64",
  "float64",
];

export function ggufTypeId(type: GgufItemType | "array"): number {
  return GGUF_TYPE_IDS.indexOf(type);
}

/** Byte width of fixed-size scalar types; strings are length-prefixed instead. */
export const GGUF_SCALAR_SIZE: Readonly<Record<Exclude<GgufItemType, "string">, number>> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  bool: 1,
  uint64: 8,
  int64: 8,
  float64: 8,
};

export interface GgufTensorInfo {
  readonly name: string;
  /** ne[0] first: the fastest-varying (input) dimension, as ggml stores it. */
  readonly dims: readonly number[];
  /** ggml_type id (0 = F32, 1 = F16, see GGML_TYPES). */
  readonly type: number;
  /** Offset of the data relative to the start of the data section. */
  readonly offset: number;
  /** Bytes of data, or undefined for a ggml type this table does not know. */
  readonly byteSize: number | undefined;
}

/** [name, elements per block, bytes per block], from gguf-py's GGML_QUANT_SIZES, indexed by ggml_type id. */
type GgmlTypeRow = readonly [name: string, blockSize: number, typeSize: number] | undefined;
const QK_K = 256;
export const GGML_TYPES: readonly GgmlTypeRow[] = [
  ["F32", 1, 4],
  ["F16", 1, 2],
  ["Q4_0", 32, 18],
  ["Q4_1", 32, 20],
  undefined, // Q4_2 and Q4_3 were removed from ggml
  undefined,
  ["Q5_0", 32, 22],
  ["Q5_1", 32, 24],
  ["Q8_0", 32, 34],
  ["Q8_1", 32, 36],
  ["Q2_K", QK_K, 4 + QK_K / 16 + QK_K / 4],
  ["Q3_K", QK_K, 2 + QK_K / 4 + QK_K / 8 + 12],
  ["Q4_K", QK_K, 4 + QK_K / 2 + 12],
  ["Q5_K", QK_K, 4 + QK_K / 2 + QK_K / 8 + 12],
  ["Q6_K", QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16],
  ["Q8_K", QK_K, 4 + QK_K + QK_K / 8],
  ["IQ2_XXS", QK_K, 2 + QK_K / 4],
  ["IQ2_XS", QK_K, 2 + QK_K / 4 + QK_K / 32],
  ["IQ3_XXS", QK_K, 2 + QK_K / 4 + QK_K / 8],
  ["IQ1_S", QK_K, 2 + QK_K / 8 + QK_K / 16],
  ["IQ4_NL", 32, 18],
  ["IQ3_S", QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4],
  ["IQ2_S", QK_K, 2 + QK_K / 4 + QK_K / 16],
  ["IQ4_XS", QK_K, 4 + QK_K / 2 + QK_K / 64],
  ["I8", 1, 1],
  ["I16", 1, 2],
  ["I32", 1, 4],
  ["I64", 1, 8],
  ["F64", 1, 8],
  ["IQ1_M", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32],
  ["BF16", 1, 2],
  undefined, // 31-33: repacked Q4_0 variants, no longer allowed in files
  undefined,
  undefined,
  ["TQ1_0", QK_K, 2 + 4 * 13],
  ["TQ2_0", QK_K, 2 + 64],
  undefined, // 36-38: repacked IQ4_NL variants
  undefined,
  undefined,
  ["MXFP4", 32, 17],
  ["NVFP4", 64, 36],
  ["Q1_0", 128, 18],
  ["Q2_0", 64, 18],
];

export const GGML_TYPE_F32 = 0;
export const GGML_TYPE_F16 = 1;

export function ggmlTypeName(type: number): string {
  return GGML_TYPES[type]?.[0] ?? `type${type}`;
}

/** Bytes a tensor's data takes (ggml_nbytes for contiguous data), undefined for unknown types. */
export function ggmlByteSize(type: number, dims: readonly number[]): number | undefined {
  const row = GGML_TYPES[type];
  if (row === undefined) return undefined;
  const elements = dims.reduce((a, b) => a * b, 1);
  return (elements / row[1]) * row[2];
}

/** A file that is not valid GGUF, or a value that cannot be written as GGUF. */
export class GgufError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GgufError";
  }
}
