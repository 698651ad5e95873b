import { prng } from "../util/prng.js";
import { readGgufMetadata } from "./gguf-reader.js";
import { GgufError, type GgufValue } from "./gguf-types.js";
import {
  type GgufTensorSource,
  type GgufTensorType,
  type GgufWriteResult,
  writeGguf,
} from "./gguf-writer.js";

export interface TinyModelOptions {
  /** A llama.cpp vocabulary GGUF (models/ggml-vocab-llama-spm.gguf) to copy tokenizer.* from. */
  readonly vocabPath: string;
  readonly outPath: string;
  /** Same seed, same vocabulary, same options: byte-identical file. Default 1. */
  readonly seed?: number;
  readonly name?: string;
  /** Default 64. Must be divisible by headCount. */
  readonly embeddingLength?: number;
  /** Default 2. */
  readonly blockCount?: number;
  /** Default 128. */
  readonly feedForwardLength?: number;
  /** Default 4 (head size 16). */
  readonly headCount?: number;
  /** n_ctx_train written to the metadata; default 32768 so long generations run. */
  readonly contextLength?: number;
  /** How many plain word tokens the model can emit; default 300. */
  readonly wordCount?: number;
  /** Storage of the matrices; norms stay F32 as llama.cpp's converters write them. Default F32. */
  readonly matrixType?: GgufTensorType;
  /** Jinja chat template; default: the vocabulary's own, else ChatML; null: none (a base model). */
  readonly chatTemplate?: string | null;
  /**
   * More metadata, written after (and replacing keys of) the usual ones: e.g.
   * `llama.pooling_type` for an embedding model, `general.type` for tests of odd files.
   */
  readonly extraMetadata?: Iterable<readonly [string, GgufValue]>;
  /**
   * Shards to write, llama.cpp's gguf-split layout: with N > 1 the files are
   * `<outPath without .gguf>-0000i-of-0000N.gguf`, the first holding all metadata. Default 1.
   */
  readonly splitCount?: number;
}

export interface TinyModelResult {
  /** The file to load: outPath, or the first shard of a split model. */
  readonly path: string;
  /** Every file written, in shard order (one unless split). */
  readonly shards: readonly string[];
  /** Bytes of all shards together. */
  readonly bytes: number;
  readonly vocabSize: number;
  /** The words (without the leading space marker) that the model emits, highest logit first. */
  readonly words: readonly string[];
}

/**
 * ChatML. llama-server recognises the `<|im_start|>` markers and parses replies as plain
 * content; the SPM vocabulary has no such special tokens, so they are tokenized as text,
 * which does not matter for a model that ignores its input.
 */
export const TINY_CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** SentencePiece marks a leading space with U+2581; such a token followed by letters decodes to " word". */
const WORD_TOKEN = /^\u2581[a-z]{3,}$/;
/** tokenizer.ggml.token_type value for ordinary tokens (LLAMA_TOKEN_TYPE_NORMAL). */
const TOKEN_TYPE_NORMAL = 1;
/** Word logits lie in [WORD_LOGIT, WORD_LOGIT + WORD_SPREAD]; every other token gets OTHER_LOGIT. */
const WORD_LOGIT = 20;
const WORD_SPREAD = 3;
const OTHER_LOGIT = -3;
const EMBEDDING_NOISE = 0.25;
const ROWS_PER_CHUNK = 1024;

/** Picks `count` word tokens in seeded random order. */
function pickWords(
  tokens: readonly string[],
  types: readonly number[] | undefined,
  count: number,
  random: () => number,
) {
  const eligible: number[] = [];
  tokens.forEach((text, id) => {
    if (WORD_TOKEN.test(text) && (types === undefined || types[id] === TOKEN_TYPE_NORMAL)) eligible.push(id);
  });
  if (eligible.length < count) {
    throw new GgufError(
      `the vocabulary has ${eligible.length} plain word tokens, fewer than the ${count} wanted`,
    );
  }
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (eligible.length - i));
    [eligible[i], eligible[j]] = [eligible[j] ?? 0, eligible[i] ?? 0];
  }
  return eligible.slice(0, count);
}

/** Yields `rows` rows of `width` values in chunks, each row from `row(index, out)`. */
function* rowsOf(rows: number, width: number, row: (index: number, out: Float32Array) => void) {
  for (let start = 0; start < rows; start += ROWS_PER_CHUNK) {
    const n = Math.min(ROWS_PER_CHUNK, rows - start);
    const chunk = new Float32Array(n * width);
    for (let r = 0; r < n; r++) row(start + r, chunk.subarray(r * width, (r + 1) * width));
    yield chunk;
  }
}

function filled(dims: readonly number[], value: number): () => Iterable<Float32Array> {
  return () => [new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value)];
}

function tokenizerMetadata(vocab: ReadonlyMap<string, GgufValue>, template: string | null | undefined) {
  const entries: [string, GgufValue][] = [];
  for (const [key, value] of vocab) if (key.startsWith("tokenizer.")) entries.push([key, value]);
  if (template === null) return entries.filter(([key]) => key !== "tokenizer.chat_template");
  const own = vocab.get("tokenizer.chat_template");
  if (template !== undefined || own === undefined) {
    const value: GgufValue = { type: "string", value: template ?? TINY_CHAT_TEMPLATE };
    if (own === undefined) entries.push(["tokenizer.chat_template", value]);
    else
      entries[entries.findIndex(([key]) => key === "tokenizer.chat_template")] = [
        "tokenizer.chat_template",
        value,
      ];
  }
  return entries;
}

/**
 * Writes a tiny llama-architecture GGUF that llama-server loads in well under a second and
 * that always answers with plain words.
 *
 * Why these weights: with random weights the model emits byte-fallback and control tokens,
 * the output is not valid UTF-8 and llama-server answers 500 to many chat requests. Here
 * every transformer block is zero (so each block adds nothing to the residual stream and
 * the hidden state is the input token's embedding), every embedding is a shared direction
 * v plus a little noise (so mean-pooled embeddings differ per text), and only the output
 * rows of a few hundred `▁word` tokens point along v, with different scales. The logits of
 * the words therefore keep one fixed order whatever the input (temperature 0 repeats the
 * top word), spread over a few nats (temperature 1 samples varied words), and sit 23 nats
 * above every other token, so control and byte tokens are never sampled.
 */
export async function makeTinyModel(options: TinyModelOptions): Promise<TinyModelResult> {
  const nEmbd = options.embeddingLength ?? 64;
  const nLayer = options.blockCount ?? 2;
  const nFf = options.feedForwardLength ?? 128;
  const nHead = options.headCount ?? 4;
  const matrixType = options.matrixType ?? "F32";
  if (nEmbd % nHead !== 0)
    throw new GgufError(`embedding length ${nEmbd} is not divisible by ${nHead} heads`);

  const vocab = await readGgufMetadata(options.vocabPath);
  const tokens = vocab.metadata.get("tokenizer.ggml.tokens");
  if (tokens?.type !== "array" || tokens.itemType !== "string") {
    throw new GgufError(`${options.vocabPath} has no tokenizer.ggml.tokens string array`);
  }
  const typesEntry = vocab.metadata.get("tokenizer.ggml.token_type");
  const types =
    typesEntry?.type === "array" && typesEntry.itemType === "int32" ? typesEntry.value : undefined;
  const nVocab = tokens.value.length;

  const random = prng(options.seed ?? 1);
  const wordIds = pickWords(tokens.value, types, options.wordCount ?? 300, random);
  // Logits fall off linearly from the first picked word, so the temperature-0 answer is wordIds[0].
  const logitOf = new Map(wordIds.map((id, i) => [id, WORD_LOGIT + WORD_SPREAD * (1 - i / wordIds.length)]));
  const v = Float32Array.from({ length: nEmbd }, () => (random() < 0.5 ? -1 : 1));
  const embeddingSeed = Math.floor(random() * 2 ** 32);

  const matrix = (name: string, dims: number[], data: () => Iterable<Float32Array>): GgufTensorSource => ({
    name,
    dims,
    type: matrixType,
    data,
  });
  const norm = (name: string): GgufTensorSource => ({
    name,
    dims: [nEmbd],
    type: "F32",
    data: filled([nEmbd], 1),
  });

  const tensors: GgufTensorSource[] = [
    matrix("token_embd.weight", [nEmbd, nVocab], () => {
      // Its own stream, so the embeddings do not depend on the order tensors are written in.
      const noise = prng(embeddingSeed);
      return rowsOf(nVocab, nEmbd, (_, out) => {
        for (let i = 0; i < nEmbd; i++) out[i] = (v[i] ?? 0) + EMBEDDING_NOISE * (2 * noise() - 1);
      });
    }),
    norm("output_norm.weight"),
    // After RMS norm the hidden state is about v (|v|² = nEmbd), so a row s·v/nEmbd gives logit ≈ s.
    matrix("output.weight", [nEmbd, nVocab], () =>
      rowsOf(nVocab, nEmbd, (id, out) => {
        const scale = (logitOf.get(id) ?? OTHER_LOGIT) / nEmbd;
        for (let i = 0; i < nEmbd; i++) out[i] = (v[i] ?? 0) * scale;
      }),
    ),
  ];
  for (let b = 0; b < nLayer; b++) {
    const zero = (name: string, dims: number[]) => matrix(`blk.${b}.${name}.weight`, dims, filled(dims, 0));
    tensors.push(
      norm(`blk.${b}.attn_norm.weight`),
      zero("attn_q", [nEmbd, nEmbd]),
      zero("attn_k", [nEmbd, nEmbd]),
      zero("attn_v", [nEmbd, nEmbd]),
      zero("attn_output", [nEmbd, nEmbd]),
      norm(`blk.${b}.ffn_norm.weight`),
      zero("ffn_gate", [nEmbd, nFf]),
      zero("ffn_up", [nEmbd, nFf]),
      zero("ffn_down", [nFf, nEmbd]),
    );
  }

  const u32 = (value: number): GgufValue => ({ type: "uint32", value });
  const metadata: [string, GgufValue][] = [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: options.name ?? "tiny-llama" }],
    [
      "general.description",
      { type: "string", value: "LlamaWrapper test model: emits plain words, knows nothing" },
    ],
    // LLAMA_FTYPE_ALL_F32 = 0, LLAMA_FTYPE_MOSTLY_F16 = 1
    ["general.file_type", u32(matrixType === "F32" ? 0 : 1)],
    ["llama.context_length", u32(options.contextLength ?? 32768)],
    ["llama.embedding_length", u32(nEmbd)],
    ["llama.block_count", u32(nLayer)],
    ["llama.feed_forward_length", u32(nFf)],
    ["llama.attention.head_count", u32(nHead)],
    ["llama.attention.head_count_kv", u32(nHead)],
    ["llama.rope.dimension_count", u32(nEmbd / nHead)],
    ["llama.attention.layer_norm_rms_epsilon", { type: "float32", value: 1e-5 }],
    ["llama.vocab_size", u32(nVocab)],
    ...tokenizerMetadata(vocab.metadata, options.chatTemplate),
  ];
  const merged = new Map(metadata);
  for (const [key, value] of options.extraMetadata ?? []) merged.set(key, value);

  const shards = await writeShards(options.outPath, merged, tensors, options.splitCount ?? 1);
  const words = wordIds.map((id) => (tokens.value[id] ?? "").slice(1));
  return {
    path: shards[0]?.path ?? options.outPath,
    shards: shards.map((s) => s.path),
    bytes: shards.reduce((sum, s) => sum + s.bytes, 0),
    vocabSize: nVocab,
    words,
  };
}

/** llama_split_path in llama.cpp: `<prefix>-%05d-of-%05d.gguf`, numbered from 1. */
export function splitShardPath(outPath: string, index: number, count: number): string {
  const pad = (n: number) => String(n).padStart(5, "0");
  return `${outPath.replace(/\.gguf$/i, "")}-${pad(index + 1)}-of-${pad(count)}.gguf`;
}

/**
 * Writes one file, or `count` shards as llama.cpp's gguf-split does: every shard carries
 * split.no (u16), split.count (u16) and split.tensors.count (i32, the total); only the first
 * carries the model's metadata; tensors are dealt out in order. llama-server loads the model
 * from the first shard and finds the others by name (llama_get_list_splits).
 */
async function writeShards(
  outPath: string,
  metadata: ReadonlyMap<string, GgufValue>,
  tensors: readonly GgufTensorSource[],
  count: number,
): Promise<GgufWriteResult[]> {
  if (count === 1) return [await writeGguf(outPath, { metadata, tensors })];
  if (!Number.isInteger(count) || count < 1 || count > tensors.length)
    throw new GgufError(`cannot split ${tensors.length} tensors into ${count} shards`);
  const written: GgufWriteResult[] = [];
  for (let i = 0; i < count; i++) {
    const split: [string, GgufValue][] = [
      ["split.no", { type: "uint16", value: i }],
      ["split.count", { type: "uint16", value: count }],
      ["split.tensors.count", { type: "int32", value: tensors.length }],
    ];
    const own = i === 0 ? [...metadata, ...split] : split;
    // Even shares, none empty: gguf-split refuses a shard with no tensors.
    const part = tensors.slice(
      Math.floor((i * tensors.length) / count),
      Math.floor(((i + 1) * tensors.length) / count),
    );
    written.push(await writeGguf(splitShardPath(outPath, i, count), { metadata: own, tensors: part }));
  }
  return written;
}
