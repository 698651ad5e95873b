import { randomUUID } from "node:crypto";
import { stringEnd } from "./json-bytes.js";
import { nowSeconds, responseObject } from "./responses-object.js";
import { isObject, outputTextPart, reasoningPart, skeleton, startsWith, str } from "./responses-parts.js";
import type { UsageTally } from "./usage.js";

type Json = Record<string, unknown>;

const LF = 0x0a;
const EVENT_END = Buffer.from("\n\n");
const EVENT_LINE = Buffer.from("event: ");
const DATA_LINE = Buffer.from("data: ");
const ITEM_ID_KEY = Buffer.from('"item_id":"');

type DeltaKind = "text" | "reasoning" | "arguments";

/**
 * The per-token events, recognised by their first bytes as llama-server writes them
 * (format_oai_resp_sse: `event: <type>\ndata: {"type":…`): they get their missing fields by a
 * byte insertion after the `{`, never a parse.
 */
const HOT: ReadonlyArray<readonly [Buffer, DeltaKind]> = [
  [Buffer.from("event: response.output_text.delta\ndata: {"), "text"],
  [Buffer.from("event: response.reasoning_text.delta\ndata: {"), "reasoning"],
  [Buffer.from("event: response.function_call_arguments.delta\ndata: {"), "arguments"],
];

/** One output item of the response, as far as the events sent so far have taken it. */
interface Item {
  readonly id: string;
  readonly idBytes: Buffer;
  readonly index: number;
  partAdded: boolean;
  /** A delta of its text (or arguments) went out: a done event needs no catch-up delta. */
  sawDelta: boolean;
  /** output_text.done, reasoning_text.done or function_call_arguments.done went out. */
  textDone: boolean;
  partDone: boolean;
}

export interface ResponsesStreamOptions {
  /** The name the client asked for, shown as the response's `model`. */
  readonly modelName: string;
  /** The client's request, when known: the parameters the response object echoes. */
  readonly request?: Readonly<Json> | undefined;
  /** Counts the usage of response.completed. */
  readonly tally: UsageTally;
}

/**
 * Completes llama-server's Responses API stream, event by event, to OpenAI's streaming spec.
 * llama-server (server-task.cpp, to_json_oaicompat_resp*) sends response.created and
 * response.in_progress with only id/object/status, no `sequence_number` anywhere, no
 * `output_index`/`content_index` on item and part events, no content_part events for reasoning,
 * no reasoning_text.done or function_call_arguments.done, and a response.completed without the
 * spec's echoed fields. This adds them: every event gets a `sequence_number` from 0, items get
 * their index in the order they were added, and a done event for an item that was never added
 * (llama-server drops the last diff of its final result) is preceded by the events that add it.
 * Per-token events are rewritten by a byte insertion; the few others are parsed.
 */
export class ResponsesStream {
  readonly #options: ResponsesStreamOptions;
  readonly #items = new Map<string, Item>();
  #sequence = 0;
  #created = false;
  #id: string | null = null;
  #createdAt = 0;
  /** The item of the last delta: consecutive deltas of one item cost no id lookup. */
  #last: Item | null = null;
  #out: Buffer[] = [];

  constructor(options: ResponsesStreamOptions) {
    this.#options = options;
  }

  /** The sequence number of the next event (for an error event that ends the stream). */
  nextSequence(): number {
    return this.#sequence++;
  }

  /** Rewrites whole events (a last one without its blank line is taken as whole too). */
  rewrite(data: Buffer): Buffer {
    const out: Buffer[] = [];
    this.#out = out;
    let at = 0;
    while (at < data.length) {
      const end = data.indexOf(EVENT_END, at);
      const bodyEnd = end === -1 ? data.length : end;
      const next = end === -1 ? data.length : end + 2;
      if (bodyEnd > at && !this.#hot(data, at, bodyEnd, next)) this.#event(data, at, bodyEnd, next);
      else if (bodyEnd === at) out.push(data.subarray(at, next));
      at = next;
    }
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
  }

  /** A per-token event of a known item: the missing fields inserted after its `{`. */
  #hot(data: Buffer, start: number, bodyEnd: number, next: number): boolean {
    for (const [prefix, kind] of HOT) {
      if (!startsWith(data, start, prefix)) continue;
      const open = start + prefix.length;
      const key = data.indexOf(ITEM_ID_KEY, open);
      if (key === -1 || key >= bodyEnd) return false;
      const idStart = key + ITEM_ID_KEY.length - 1;
      const idEnd = stringEnd(data, idStart);
      if (idEnd === -1 || idEnd > bodyEnd) return false;
      const item = this.#lookup(data, idStart + 1, idEnd - 1);
      if (item === undefined || (kind !== "arguments" && !item.partAdded)) return false;
      item.sawDelta = true;
      let fields = `"sequence_number":${this.#sequence++},"output_index":${item.index},`;
      if (kind !== "arguments") fields += '"content_index":0,';
      if (kind === "text") fields += '"logprobs":[],';
      // One allocation for the event: its bytes up to the `{`, the fields, the rest.
      const tail = next === bodyEnd ? EVENT_END.length : 0;
      const event = Buffer.allocUnsafe(next - start + fields.length + tail);
      data.copy(event, 0, start, open);
      event.write(fields, open - start, "latin1");
      data.copy(event, open - start + fields.length, open, next);
      if (tail !== 0) EVENT_END.copy(event, event.length - tail);
      this.#out.push(event);
      return true;
    }
    return false;
  }

  #lookup(data: Buffer, start: number, end: number): Item | undefined {
    const last = this.#last;
    if (
      last !== null &&
      last.idBytes.length === end - start &&
      data.compare(last.idBytes, 0, last.idBytes.length, start, end) === 0
    )
      return last;
    const item = this.#items.get(data.toString("utf8", start, end));
    if (item !== undefined) this.#last = item;
    return item;
  }

  /** Any other event: parsed, completed, written anew. What is not JSON passes untouched. */
  #event(data: Buffer, start: number, bodyEnd: number, next: number): void {
    let name = "";
    let line = start;
    if (startsWith(data, start, EVENT_LINE)) {
      const lf = data.indexOf(LF, start);
      if (lf !== -1 && lf < bodyEnd) {
        name = data.toString("utf8", start + EVENT_LINE.length, lf);
        line = lf + 1;
      }
    }
    let event: unknown;
    if (startsWith(data, line, DATA_LINE)) {
      try {
        event = JSON.parse(data.toString("utf8", line + DATA_LINE.length, bodyEnd));
      } catch {
        // Not one JSON object (an SSE comment, a cut-off event): passed on as it is.
      }
    }
    if (!isObject(event)) {
      this.#out.push(data.subarray(start, next));
      return;
    }
    this.#handle(typeof event.type === "string" ? event.type : name, event);
  }

  #handle(type: string, event: Json): void {
    switch (type) {
      case "response.created":
        this.#ensureCreated(event.response, false);
        return;
      case "response.in_progress":
        this.#ensureCreated(event.response, true);
        this.#emit(type, { response: this.#snapshot("in_progress") }, event);
        return;
      case "response.output_item.added":
        this.#itemAdded(event);
        return;
      case "response.content_part.added": {
        const item = this.#ensureItem(str(event.item_id), null, "message");
        const sent = isObject(event.part) ? event.part : outputTextPart();
        // The spec's output_text part has annotations; llama-server's has only type and text.
        const part = sent.type === "output_text" ? { ...outputTextPart(), ...sent } : sent;
        this.#ensurePart(item, part, event);
        return;
      }
      case "response.output_text.delta":
      case "response.reasoning_text.delta": {
        const reasoning = type === "response.reasoning_text.delta";
        const item = this.#ensureItem(str(event.item_id), null, reasoning ? "reasoning" : "message");
        this.#ensurePart(item, reasoning ? reasoningPart() : outputTextPart(), null);
        item.sawDelta = true;
        const logprobs = reasoning ? {} : { logprobs: [] };
        this.#emit(type, { ...this.#at(item, true), delta: str(event.delta), ...logprobs }, event);
        return;
      }
      case "response.function_call_arguments.delta": {
        const item = this.#ensureItem(str(event.item_id), null, "function_call");
        item.sawDelta = true;
        this.#emit(type, { ...this.#at(item, false), delta: str(event.delta) }, event);
        return;
      }
      case "response.output_text.done": {
        const item = this.#ensureItem(str(event.item_id), null, "message");
        this.#closeText(item, "message", str(event.text), event);
        return;
      }
      case "response.content_part.done": {
        const item = this.#ensureItem(str(event.item_id), null, "message");
        const part = isObject(event.part) ? event.part : outputTextPart();
        const reasoning = part.type === "reasoning_text";
        this.#closeText(item, reasoning ? "reasoning" : "message", str(part.text), null);
        this.#closePart(item, part, event);
        return;
      }
      case "response.output_item.done":
        this.#itemDone(event);
        return;
      case "response.completed":
      case "response.incomplete":
      case "response.failed":
        this.#completed(type, event);
        return;
      default:
        this.#ensureCreated(undefined, true);
        this.#emit(type, {}, event);
    }
  }

  /** response.created (and in_progress when llama-server's own did not come first). */
  #ensureCreated(response: unknown, withProgress: boolean): void {
    if (this.#created) return;
    this.#created = true;
    const id = isObject(response) ? response.id : undefined;
    this.#id = typeof id === "string" ? id : `resp_${randomUUID().replaceAll("-", "")}`;
    this.#createdAt = nowSeconds();
    this.#emit("response.created", { response: this.#snapshot("in_progress") }, null);
    if (withProgress) this.#emit("response.in_progress", { response: this.#snapshot("in_progress") }, null);
  }

  #snapshot(status: string): Json {
    return responseObject({
      id: this.#id ?? "",
      createdAt: this.#createdAt,
      status,
      model: this.#options.modelName,
      output: [],
      usage: null,
      completedAt: null,
      request: this.#options.request,
    });
  }

  #itemAdded(event: Json): void {
    this.#ensureCreated(undefined, true);
    const raw = isObject(event.item) ? event.item : {};
    const id = str(raw.id);
    // Added already (an earlier event named it first): adding it twice would shift the indices.
    if (this.#items.has(id)) return;
    const item = this.#register(id);
    this.#emit("response.output_item.added", { output_index: item.index, item: raw }, event);
  }

  #register(id: string): Item {
    const item: Item = {
      id,
      idBytes: Buffer.from(id),
      index: this.#items.size,
      partAdded: false,
      sawDelta: false,
      textDone: false,
      partDone: false,
    };
    this.#items.set(id, item);
    return item;
  }

  /** The item an event names, added first when no event added it yet. */
  #ensureItem(id: string, raw: Json | null, type: string): Item {
    this.#ensureCreated(undefined, true);
    const known = this.#items.get(id);
    if (known !== undefined) return known;
    const item = this.#register(id);
    this.#emit(
      "response.output_item.added",
      { output_index: item.index, item: skeleton(id, raw, type) },
      null,
    );
    return item;
  }

  #at(item: Item, withContent: boolean): Json {
    return withContent
      ? { item_id: item.id, output_index: item.index, content_index: 0 }
      : { item_id: item.id, output_index: item.index };
  }

  #ensurePart(item: Item, part: Json, event: Json | null): void {
    if (item.partAdded) return;
    item.partAdded = true;
    this.#emit("response.content_part.added", { ...this.#at(item, true), part }, event);
  }

  /** The text of a message or reasoning item, or a function call's arguments, is complete. */
  #closeText(item: Item, type: string, text: string, event: Json | null): void {
    if (item.textDone) return;
    item.textDone = true;
    if (type === "function_call") {
      if (!item.sawDelta && text !== "")
        this.#emit("response.function_call_arguments.delta", { ...this.#at(item, false), delta: text }, null);
      this.#emit(
        "response.function_call_arguments.done",
        { ...this.#at(item, false), arguments: text },
        event,
      );
      return;
    }
    const reasoning = type === "reasoning";
    this.#ensurePart(item, reasoning ? reasoningPart() : outputTextPart(), null);
    const logprobs = reasoning ? {} : { logprobs: [] };
    const prefix = reasoning ? "response.reasoning_text" : "response.output_text";
    if (!item.sawDelta && text !== "")
      this.#emit(`${prefix}.delta`, { ...this.#at(item, true), delta: text, ...logprobs }, null);
    this.#emit(`${prefix}.done`, { ...this.#at(item, true), text, ...logprobs }, event);
  }

  #closePart(item: Item, part: Json, event: Json | null): void {
    if (item.partDone) return;
    item.partDone = true;
    this.#emit("response.content_part.done", { ...this.#at(item, true), part }, event);
  }

  /** An item is done: the events its kind has before that are sent first when missing. */
  #itemDone(event: Json): void {
    const raw = isObject(event.item) ? { ...event.item } : {};
    const type = str(raw.type);
    const item = this.#ensureItem(str(raw.id), raw, type);
    if (type === "function_call") {
      this.#closeText(item, type, str(raw.arguments), null);
    } else if (type === "message" || type === "reasoning") {
      const content = Array.isArray(raw.content) ? raw.content : [];
      const part: unknown = content[0];
      if (isObject(part)) {
        this.#closeText(item, type, str(part.text), null);
        this.#closePart(item, part, null);
      }
    }
    raw.status ??= "completed";
    this.#emit("response.output_item.done", { output_index: item.index, item: raw }, event);
  }

  #completed(type: string, event: Json): void {
    const raw = isObject(event.response) ? event.response : {};
    this.#ensureCreated(raw, true);
    if (isObject(raw.usage)) this.#options.tally.add(raw.usage);
    const response = responseObject({
      id: this.#id ?? str(raw.id),
      createdAt: this.#createdAt,
      status: typeof raw.status === "string" ? raw.status : "completed",
      model: this.#options.modelName,
      output: Array.isArray(raw.output) ? raw.output : [],
      usage: raw.usage ?? null,
      // llama-server stamps its final object when generation ended.
      completedAt: typeof raw.created_at === "number" ? raw.created_at : nowSeconds(),
      request: this.#options.request,
    });
    this.#emit(type, { response }, event);
  }

  /**
   * Writes one event: its type, the next sequence number, `fields`, then whatever else
   * llama-server's own event carried (timings, prompt_progress) that `fields` does not replace.
   */
  #emit(type: string, fields: Json, source: Json | null): void {
    const data: Json = { type, sequence_number: this.#sequence++, ...fields };
    if (source !== null) {
      for (const key of Object.keys(source)) if (!(key in data)) data[key] = source[key];
    }
    this.#out.push(Buffer.from(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`));
  }
}
