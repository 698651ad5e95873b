import { GatewayError } from "../../errors/gateway-error.js";

// The gateway's policy on request fields that exist for llama-server's own internals, checked
// against the pinned llama-server (tools/server/server-schema.cpp, server-context.cpp,
// server-common.cpp). docs/request-policy.md explains each rule; keep the two in step.
// Refused, never silently stripped: a client that sets one learns why at once.

type Body = Record<string, unknown>;

/** Fields refused whenever they are set (null counts as unset, as in llama-server). */
export const REFUSED_FIELDS: Readonly<Record<string, string>> = {
  id_slot: "pins the request to one llama-server slot, and to the prompt cache another client left there",
  slot_id: "is the older name of id_slot",
  n_discard: "tunes llama-server's context-shift internals",
  chat_format: "is an internal llama-server value that it casts unchecked to an enum",
  chat_parser: "is an internal llama-server parser program",
};

/** OpenAI's own ceiling for top_logprobs; above it llama-server's answer grows with the vocabulary. */
export const MAX_PROBS = 20;
const PROB_FIELDS = ["n_probs", "top_logprobs", "logprobs"];

/** Keys under which llama-server reads a media URL that it would fetch itself. */
const MEDIA_KEYS = new Set(["url", "image_url", "data"]);
const REMOTE = /^\s*https?:/i;
/** Message content is shallow; a deeper walk is not needed to find every media part. */
const MAX_DEPTH = 6;

function refuse(param: string, message: string): GatewayError {
  return new GatewayError("param_not_allowed", message, { param });
}

function checkLora(value: unknown): void {
  const ok =
    Array.isArray(value) &&
    value.every(
      (entry) =>
        typeof entry === "object" &&
        entry !== null &&
        Object.keys(entry).every((key) => key === "id" || key === "scale") &&
        Number.isInteger((entry as Body).id) &&
        ((entry as Body).id as number) >= 0 &&
        typeof (entry as Body).scale === "number",
    );
  if (!ok) {
    throw refuse(
      "lora",
      "lora must be an array of {id, scale} choosing among the adapters the operator loaded; paths and other keys are refused",
    );
  }
}

/**
 * The path of the first remote media URL in `value` below `path` (`[0].image_url.url`), or null.
 * The path is built only on the way back from a find: the common case, no media URL, allocates
 * nothing.
 */
function remoteMedia(value: unknown, depth: number): string | null {
  if (depth > MAX_DEPTH || typeof value !== "object" || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item !== "object" || item === null) continue;
      const found = remoteMedia(item, depth + 1);
      if (found !== null) return `[${i}]${found}`;
    }
    return null;
  }
  const object = value as Body;
  // A parsed JSON object has no inherited enumerable keys.
  for (const key in object) {
    const item = object[key];
    if (typeof item === "string") {
      if (MEDIA_KEYS.has(key) && REMOTE.test(item)) return `.${key}`;
      continue;
    }
    if (typeof item !== "object" || item === null) continue;
    const found = remoteMedia(item, depth + 1);
    if (found !== null) return `.${key}${found}`;
  }
  return null;
}

/** Throws param_not_allowed for the first field the policy refuses. */
export function checkRequestPolicy(body: Body): void {
  for (const field of Object.keys(REFUSED_FIELDS)) {
    const value = body[field];
    if (value !== undefined && value !== null)
      throw refuse(field, `${field} is not accepted: it ${REFUSED_FIELDS[field]}`);
  }
  if (body.lora !== undefined && body.lora !== null) checkLora(body.lora);
  for (const field of PROB_FIELDS) {
    const value = body[field];
    if (typeof value === "number" && value > MAX_PROBS)
      throw refuse(field, `${field} may be at most ${MAX_PROBS}`);
  }
  for (const field of ["messages", "input"]) {
    const below = remoteMedia(body[field], 0);
    if (below !== null) {
      const found = `${field}${below}`;
      throw refuse(
        found,
        `${found}: remote media URLs are refused (llama-server would fetch them from inside the network); send the data inline as a data: URL or base64`,
      );
    }
  }
}
