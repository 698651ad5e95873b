import { objectEnd } from "./json-bytes.js";

/** Token counts of one request, whatever API shape llama-server reported them in. */
export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** Prompt tokens llama-server took from its KV cache instead of evaluating them. */
  readonly cachedTokens: number;
}

/**
 * How an answer reports usage and in-stream errors:
 * - `openai`: `"usage":{prompt_tokens, completion_tokens, prompt_tokens_details.cached_tokens}`
 * - `responses`: `"usage":{input_tokens, output_tokens, input_tokens_details.cached_tokens}`
 * - `anthropic`: `"usage":{input_tokens, cache_read_input_tokens, output_tokens}`, where
 *   llama-server's input_tokens leaves out the cached part, and streams split it over
 *   message_start and message_delta
 * - `native`: llama-server's own /infill shape, `tokens_evaluated`/`tokens_predicted` and
 *   `timings.cache_n` on the final object
 * - `none`: answers without usage (/tokenize, /detokenize, count_tokens)
 */
export type Dialect = "openai" | "responses" | "anthropic" | "native" | "none";

const USAGE_KEY = Buffer.from('"usage":{');
const TIMINGS_KEY = Buffer.from('"timings":{');

type Raw = Record<string, unknown>;

/** Prompt tokens an answer must have evaluated for its prompt speed to count. */
const MIN_PREFILL_SAMPLE = 64;

function num(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

function nested(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Raw)[key] : undefined;
}

/**
 * Collects the usage numbers of one answer. Streams report them in pieces (Anthropic: input
 * in message_start, output in message_delta), so later values of a field replace earlier ones.
 */
export class UsageTally {
  readonly #dialect: Dialect;
  #prompt: number | undefined;
  #completion: number | undefined;
  #cached: number | undefined;
  #cacheRead: number | undefined;
  #speed: number | null = null;
  #prefill: number | null = null;

  constructor(dialect: Dialect) {
    this.#dialect = dialect;
  }

  get dialect(): Dialect {
    return this.#dialect;
  }

  /** One `usage` object, or (native dialect) the final llama-server object. */
  add(object: Raw): void {
    if (this.#dialect === "native") {
      this.#timings(object.timings);
      this.#prompt = num(object.tokens_evaluated) ?? this.#prompt;
      this.#completion = num(object.tokens_predicted) ?? this.#completion;
      this.#cached = num(nested(object.timings, "cache_n")) ?? this.#cached;
      return;
    }
    this.#prompt = num(object.prompt_tokens ?? object.input_tokens) ?? this.#prompt;
    this.#completion = num(object.completion_tokens ?? object.output_tokens) ?? this.#completion;
    this.#cached =
      num(nested(object.prompt_tokens_details ?? object.input_tokens_details, "cached_tokens")) ??
      this.#cached;
    this.#cacheRead = num(object.cache_read_input_tokens) ?? this.#cacheRead;
  }

  /**
   * Finds every `"usage":{…}` object in `buf` from `from` on and adds it; returns the spans
   * found, so a caller can drop the events that carry them. A span cut off at the end of `buf`
   * is skipped (callers pass complete events only).
   */
  scan(buf: Buffer, from = 0): Array<{ start: number; end: number }> {
    const spans: Array<{ start: number; end: number }> = [];
    let at = buf.indexOf(USAGE_KEY, from);
    while (at !== -1) {
      const objectStart = at + USAGE_KEY.length - 1;
      const end = objectEnd(buf, objectStart);
      if (end === -1) break;
      try {
        this.add(JSON.parse(buf.toString("utf8", objectStart, end)) as Raw);
        spans.push({ start: at, end });
      } catch {
        // Not JSON after all: not a usage object this code understands; skip it.
      }
      at = buf.indexOf(USAGE_KEY, end);
    }
    this.#scanTimings(buf, from);
    return spans;
  }

  /** llama-server's `timings` (after usage in its answers): the generation speed, when present. */
  #scanTimings(buf: Buffer, from: number): void {
    const at = buf.indexOf(TIMINGS_KEY, from);
    if (at === -1) return;
    const objectStart = at + TIMINGS_KEY.length - 1;
    const end = objectEnd(buf, objectStart);
    if (end === -1) return;
    try {
      this.#timings(JSON.parse(buf.toString("utf8", objectStart, end)));
    } catch {
      // Not JSON after all: no speed.
    }
  }

  #timings(timings: unknown): void {
    const speed = num(nested(timings, "predicted_per_second"));
    const predicted = num(nested(timings, "predicted_n"));
    // A speed over zero tokens (an embedding, a prompt-only answer) says nothing.
    if (speed !== undefined && speed > 0 && predicted !== undefined && predicted > 0) this.#speed = speed;
    const prefill = num(nested(timings, "prompt_per_second"));
    const evaluated = num(nested(timings, "prompt_n"));
    // A few prompt tokens are dominated by fixed costs: they would misjudge a long prompt.
    if (prefill !== undefined && prefill > 0 && evaluated !== undefined && evaluated >= MIN_PREFILL_SAMPLE)
      this.#prefill = prefill;
  }

  /** Prompt tokens per second llama-server evaluated at (timings.prompt_per_second); null when not reported. */
  prefillSpeed(): number | null {
    return this.#prefill;
  }

  /** Tokens per second llama-server generated this answer at (its timings); null when not reported. */
  speed(): number | null {
    return this.#speed;
  }

  /** The totals, or null when the answer reported none. */
  result(): Usage | null {
    if (this.#prompt === undefined && this.#completion === undefined) return null;
    const cacheRead = this.#cacheRead ?? 0;
    // Anthropic counts cached prompt tokens apart from input_tokens; the others include them.
    const anthropic = this.#dialect === "anthropic";
    return {
      promptTokens: (this.#prompt ?? 0) + (anthropic ? cacheRead : 0),
      completionTokens: this.#completion ?? 0,
      cachedTokens: anthropic ? cacheRead : (this.#cached ?? 0),
    };
  }
}
