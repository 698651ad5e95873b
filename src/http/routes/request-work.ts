import type { RequestWork } from "../context.js";
import type { ApiSpec } from "./api-specs.js";
import { countInputs } from "./request-shape.js";

type Body = Record<string, unknown>;

/** JSON bytes per prompt token: about 4 for English text, an overestimate with the JSON around it. */
const BYTES_PER_TOKEN = 4;
/**
 * Completion tokens reserved per generation when the request sets no limit: llama-server then
 * generates until end of text or a full context, which the gateway cannot know. A typical
 * short answer; the answer's usage corrects it either way.
 */
export const UNSET_COMPLETION_TOKENS = 256;
const LIMIT_FIELDS = ["max_tokens", "max_completion_tokens", "max_output_tokens", "n_predict"];

function positiveInteger(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) && value >= 1 ? Math.floor(value) : null;
}

function completionLimit(body: Body): number {
  for (const field of LIMIT_FIELDS) {
    const limit = positiveInteger(body[field]);
    if (limit !== null) return limit;
  }
  return UNSET_COMPLETION_TOKENS;
}

/**
 * The work a request asks for, counted before it runs: every byte of its body as prompt
 * (bytes / 4), and for a generating route every completion it may produce: prompts × n ×
 * max_tokens (a /v1/completions prompt array is one completion per prompt, each of them `n`
 * times). Each of those completions is also a request: 200 prompts with n = 4 are 800
 * completions, which must not cost the same as one. The shape limits bound every factor.
 */
export function estimateWork(spec: ApiSpec, body: Body, bodyBytes: number): RequestWork {
  const prompt = Math.ceil(bodyBytes / BYTES_PER_TOKEN);
  if (!spec.generates) return { tokens: prompt, requests: 1 };
  let prompts = 1;
  for (const field of spec.batch) prompts = Math.max(prompts, countInputs(body[field]));
  const completions = prompts * (positiveInteger(body.n) ?? 1);
  return { tokens: prompt + completions * completionLimit(body), requests: completions };
}
