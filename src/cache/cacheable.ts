import type { AnswerKind } from "./answer.js";

type Body = Readonly<Record<string, unknown>>;

/** The routes whose answers the cache keeps, and the shape of each. */
const ROUTE_KINDS: Readonly<Record<string, AnswerKind>> = {
  "/v1/chat/completions": "chat",
  "/v1/completions": "text",
  "/v1/embeddings": "embedding",
};

/** The answer kind of a route the cache serves; null for every other route (no X-Cache there). */
export function answerKindOf(route: string): AnswerKind | null {
  return ROUTE_KINDS[route] ?? null;
}

/** What the client's Cache-Control asks of the cache. */
export interface ClientDirectives {
  /** `no-cache`: answer from llama-server, never from the cache (the answer may be stored). */
  readonly noCache: boolean;
  /** `no-store`: do not keep this answer. */
  readonly noStore: boolean;
}

export function clientDirectives(header: string | undefined): ClientDirectives {
  if (header === undefined || header === "") return { noCache: false, noStore: false };
  let noCache = false;
  let noStore = false;
  for (const part of header.split(",")) {
    const directive = part.trim().toLowerCase();
    if (directive === "no-cache") noCache = true;
    else if (directive === "no-store") noStore = true;
  }
  return { noCache, noStore };
}

/**
 * Why a request's answer is not determined by the request, or null when it is. Greedy
 * sampling is: `temperature: 0` (llama.cpp then takes the most likely token every step) or
 * `top_k: 1` (only the most likely token is left to draw from, at any temperature). Anything
 * that makes several answers (`n` > 1, several prompts) or answer parts the replay does not
 * carry (log-probabilities) is not cached. Embeddings always are.
 */
export function notDeterministic(kind: AnswerKind, body: Body): string | null {
  if (kind === "embedding") return null;
  const greedy = body.temperature === 0 || body.top_k === 1;
  if (!greedy) return "sampling is not greedy (temperature is not 0 and top_k is not 1)";
  if (body.n !== undefined && body.n !== 1) return "n is not 1";
  if (asksProbabilities(body)) return "log-probabilities are asked for";
  if (kind === "text" && severalPrompts(body.prompt)) return "several prompts";
  return null;
}

function asksProbabilities(body: Body): boolean {
  const count = (value: unknown) => typeof value === "number" && value > 0;
  return (
    body.logprobs === true ||
    count(body.logprobs) ||
    count(body.top_logprobs) ||
    count(body.n_probs) ||
    body.post_sampling_probs === true
  );
}

/** A prompt array is several prompts unless it is one prompt's token ids or a single entry. */
function severalPrompts(prompt: unknown): boolean {
  if (!Array.isArray(prompt) || prompt.length <= 1) return false;
  return !prompt.every((item) => typeof item === "number");
}
