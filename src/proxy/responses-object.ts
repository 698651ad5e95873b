/**
 * The Responses API's `response` object, complete: llama-server (server-task.cpp) sends only
 * `id`, `object` and `status` in its response.created / response.in_progress events, and its
 * final objects lack the fields OpenAI's spec requires (`error`, `incomplete_details`,
 * `instructions`, `metadata`, `parallel_tool_calls`, `temperature`, `tool_choice`, `tools`,
 * `top_p`). SDKs validate these (the `openai` SDK's responses.stream() helper builds its
 * snapshot from response.created; @ai-sdk/openai requires created_at and model).
 */

type Json = Record<string, unknown>;

/** Request parameters the spec echoes in the response object, with the value when not sent. */
const ECHOED: ReadonlyArray<readonly [string, unknown]> = [
  ["instructions", null],
  ["max_output_tokens", null],
  ["metadata", {}],
  ["parallel_tool_calls", true],
  ["previous_response_id", null],
  ["temperature", null],
  ["tool_choice", "auto"],
  ["tools", []],
  ["top_p", null],
];
/** Echoed only when the client sent them (the spec marks them optional). */
const ECHOED_IF_SENT = ["reasoning", "text", "truncation", "user"] as const;

export interface ResponseFields {
  readonly id: string;
  readonly createdAt: number;
  readonly status: string;
  /** The name the client asked for. */
  readonly model: string;
  readonly output: unknown;
  readonly usage: unknown;
  readonly completedAt: unknown;
  /** The client's request body, when known: its parameters are echoed. */
  readonly request: Readonly<Json> | undefined;
}

/** The whole object, keys in the order OpenAI sends them. */
export function responseObject(fields: ResponseFields): Json {
  const object: Json = {
    id: fields.id,
    object: "response",
    created_at: fields.createdAt,
    status: fields.status,
    completed_at: fields.completedAt,
    error: null,
    incomplete_details: null,
    model: fields.model,
    output: fields.output,
  };
  const request = fields.request;
  for (const [key, fallback] of ECHOED) {
    const sent = request?.[key];
    object[key] = sent === undefined ? fallback : sent;
  }
  if (request !== undefined) {
    for (const key of ECHOED_IF_SENT) if (request[key] !== undefined) object[key] = request[key];
  }
  object.usage = fields.usage;
  return object;
}

/** Seconds since the epoch, as `created_at` counts them. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

const num = (value: unknown, fallback: number): number => (typeof value === "number" ? value : fallback);

/**
 * llama-server's final (non-streamed) Responses object, completed: its id, times, status,
 * output and usage kept, `model` as the client asked, the spec's other fields added.
 */
export function completeResponse(raw: Json, model: string, request: Readonly<Json> | undefined): Json {
  const createdAt = num(raw.created_at, nowSeconds());
  const completed: Json = responseObject({
    id: typeof raw.id === "string" ? raw.id : "",
    createdAt,
    status: typeof raw.status === "string" ? raw.status : "completed",
    model,
    output: Array.isArray(raw.output) ? raw.output : [],
    usage: raw.usage ?? null,
    completedAt: raw.completed_at ?? createdAt,
    request,
  });
  // Whatever else llama-server adds (e.g. timings) stays, after the spec's fields.
  for (const key of Object.keys(raw)) if (!(key in completed)) completed[key] = raw[key];
  return completed;
}
