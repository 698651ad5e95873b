import type { CachedAnswer } from "./answer.js";

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const DATA_FIELD = Buffer.from("data:");
/** The finish reasons of an answer worth replaying; anything else (an abort, a filter) is not cached. */
const GOOD_FINISH = new Set(["stop", "length", "tool_calls"]);
/**
 * One line of the stream may take this many bytes per byte of maxBytes before we give up on it:
 * JSON escapes a text byte into at most 6 (`\u0000`), plus room for the envelope. Only a memory
 * guard against a peer that never ends a line; a real over-long answer fails on its text first.
 */
const LINE_FACTOR = 6;
const LINE_SLACK = 64 * 1024;
/** More parallel tool calls than this in one answer is not something we try to cache. */
const MAX_TOOLS = 128;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One tool call as its deltas build it. */
interface ToolCall {
  id: string | undefined;
  type: string | undefined;
  name: string | undefined;
  arguments: string;
}

/**
 * Builds the non-streamed answer of a streamed /v1/chat/completions ("chat") or /v1/completions
 * ("text") request from llama-server's raw SSE bytes, so a streamed and a non-streamed request
 * share one cache entry. Lines are cut on bytes and each event's JSON is parsed once, so chunk
 * boundaries (inside "\n\n", inside a UTF-8 character) cannot change the result. Anything that
 * is not a complete, single-choice, well-finished answer gives null: a cache miss costs a
 * recompute, a wrong entry would be served again and again.
 */
export class StreamAssembler {
  readonly #kind: "chat" | "text";
  readonly #maxBytes: number;
  readonly #lineLimit: number;
  /** The bytes of a line that has not ended yet. */
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** The data lines of the event being read; null before its first one. */
  #data: string[] | null = null;
  #failed = false;
  #textBytes = 0;
  #content = "";
  #reasoning = "";
  #tools: ToolCall[] = [];
  #finishReason: string | null = null;
  #id: unknown;
  #created: unknown;
  #model: unknown;
  #fingerprint: unknown;
  #usage: Json | undefined;

  constructor(kind: "chat" | "text", maxBytes: number) {
    this.#kind = kind;
    this.#maxBytes = maxBytes;
    this.#lineLimit = maxBytes * LINE_FACTOR + LINE_SLACK;
  }

  push(chunk: Buffer): void {
    if (this.#failed || chunk.length === 0) return;
    const lf = chunk.indexOf(LF);
    if (lf === -1) {
      // Copied: a caller may reuse its chunk buffers once push returns.
      this.#pending.push(Buffer.from(chunk));
      this.#pendingBytes += chunk.length;
      if (this.#pendingBytes > this.#lineLimit) this.#fail();
      return;
    }
    const buf = this.#pendingBytes === 0 ? chunk : Buffer.concat([...this.#pending, chunk]);
    let start = 0;
    let end = this.#pendingBytes + lf;
    while (end !== -1) {
      if (!this.#line(buf, start, end)) return;
      start = end + 1;
      end = buf.indexOf(LF, start);
    }
    this.#pending = start < buf.length ? [Buffer.from(buf.subarray(start))] : [];
    this.#pendingBytes = buf.length - start;
    if (this.#pendingBytes > this.#lineLimit) this.#fail();
  }

  /** The assembled answer, or null when the stream is not a complete, good, single answer. */
  finish(): CachedAnswer | null {
    // A stream cut inside its last event can only leave JSON that does not parse (an object
    // needs its closing brace), so reading a final unterminated line is safe.
    if (!this.#failed && this.#pendingBytes > 0) {
      const buf = Buffer.concat(this.#pending);
      this.#line(buf, 0, buf.length);
    }
    if (!this.#failed) this.#dispatch();
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#failed || this.#finishReason === null) return null;
    if (typeof this.#id !== "string" || typeof this.#created !== "number") return null;
    if (typeof this.#model !== "string") return null;
    const answer = this.#kind === "chat" ? this.#chatAnswer() : this.#textAnswer();
    return answer === null ? null : { kind: this.#kind, json: JSON.stringify(answer) };
  }

  // #line, #dispatch, #choice and #toolDelta return false once the answer has failed.
  #line(buf: Buffer, start: number, lineEnd: number): boolean {
    const end = lineEnd > start && buf[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
    if (end === start) return this.#dispatch();
    if (buf[start] === COLON) return true; // an SSE comment
    const isData = end - start >= DATA_FIELD.length && buf.compare(DATA_FIELD, 0, 5, start, start + 5) === 0;
    if (!isData) return true; // event:, id:, retry: say nothing about the answer
    let valueStart = start + DATA_FIELD.length;
    if (buf[valueStart] === SPACE) valueStart++;
    const value = buf.toString("utf8", valueStart, end);
    if (this.#data === null) this.#data = [value];
    else this.#data.push(value);
    return true;
  }

  #dispatch(): boolean {
    const data = this.#data;
    if (data === null) return true;
    this.#data = null;
    const text = data.length === 1 ? (data[0] as string) : data.join("\n");
    if (text === "[DONE]" || text === "null") return true;
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      return this.#fail();
    }
    if (event === null) return true;
    if (!isObject(event) || "error" in event) return this.#fail();
    this.#id ??= event.id;
    this.#created ??= event.created;
    this.#model ??= event.model;
    this.#fingerprint ??= event.system_fingerprint;
    if (isObject(event.usage)) this.#usage = event.usage;
    const choices = event.choices;
    if (choices === undefined) return true;
    if (!Array.isArray(choices)) return this.#fail();
    return choices.every((choice) => this.#choice(choice));
  }

  #choice(choice: unknown): boolean {
    // Only n=1 answers are cached; logprobs are not assembled, so an answer with them is not either.
    if (!isObject(choice) || (choice.index ?? 0) !== 0 || (choice.logprobs ?? null) !== null) {
      return this.#fail();
    }
    const reason = choice.finish_reason ?? null;
    if (reason !== null) {
      if (typeof reason !== "string" || !GOOD_FINISH.has(reason)) return this.#fail();
      this.#finishReason = reason;
    }
    if (this.#kind === "text") {
      if (typeof choice.text === "string") this.#content += this.#counted(choice.text);
      return !this.#failed;
    }
    const delta = choice.delta;
    if (!isObject(delta)) return true;
    if (typeof delta.content === "string") this.#content += this.#counted(delta.content);
    if (typeof delta.reasoning_content === "string") {
      this.#reasoning += this.#counted(delta.reasoning_content);
    }
    if (Array.isArray(delta.tool_calls) && !delta.tool_calls.every((call) => this.#toolDelta(call))) {
      return false;
    }
    return !this.#failed;
  }

  /**
   * Arguments are concatenated; id and name are taken from the last delta that has them, which is
   * the first and only one for OpenAI, and the grown full value when llama.cpp's diff resends them.
   */
  #toolDelta(call: unknown): boolean {
    if (!isObject(call)) return this.#fail();
    const index = call.index;
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= MAX_TOOLS) {
      return this.#fail();
    }
    const tool = this.#tools[index] ?? { id: undefined, type: undefined, name: undefined, arguments: "" };
    this.#tools[index] = tool;
    if (typeof call.id === "string" && call.id !== "") tool.id = call.id;
    if (typeof call.type === "string") tool.type ??= call.type;
    const fn = call.function;
    if (!isObject(fn)) return true;
    if (typeof fn.name === "string" && fn.name !== "") tool.name = this.#counted(fn.name);
    if (typeof fn.arguments === "string") tool.arguments += this.#counted(fn.arguments);
    return !this.#failed;
  }

  /** Counts `piece` against maxBytes; once over, the answer fails and accumulation stops. */
  #counted(piece: string): string {
    this.#textBytes += Buffer.byteLength(piece, "utf8");
    if (this.#textBytes > this.#maxBytes) {
      this.#fail();
      return "";
    }
    return piece;
  }

  #fail(): false {
    this.#failed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#data = null;
    this.#content = "";
    this.#reasoning = "";
    this.#tools = [];
    return false;
  }

  /** llama-server's non-streamed chat.completion, keys in its order, `timings` left out. */
  #chatAnswer(): Json | null {
    const tools: Json[] = [];
    // A hole in the indexes or a call without a name is a broken answer, not one to replay.
    for (const tool of this.#tools) {
      if (tool === undefined || tool.name === undefined) return null;
      const entry: Json = {
        type: tool.type ?? "function",
        function: { name: tool.name, arguments: tool.arguments },
      };
      if (tool.id !== undefined) entry.id = tool.id;
      tools.push(entry);
    }
    const content = this.#content === "" && tools.length > 0 ? null : this.#content;
    const message: Json = { role: "assistant", content };
    if (this.#reasoning !== "") message.reasoning_content = this.#reasoning;
    if (tools.length > 0) message.tool_calls = tools;
    const choice = { finish_reason: this.#finishReason, index: 0, message };
    return this.#envelope(choice, "chat.completion");
  }

  /** llama-server's non-streamed text_completion, keys in its order. */
  #textAnswer(): Json {
    const choice = { text: this.#content, index: 0, logprobs: null, finish_reason: this.#finishReason };
    return this.#envelope(choice, "text_completion");
  }

  #envelope(choice: Json, object: string): Json {
    const out: Json = { choices: [choice], created: this.#created, model: this.#model };
    if (this.#fingerprint !== undefined) out.system_fingerprint = this.#fingerprint;
    out.object = object;
    if (this.#usage !== undefined) out.usage = this.#usage;
    out.id = this.#id;
    return out;
  }
}
