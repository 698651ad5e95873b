import { GatewayError } from "../../errors/gateway-error.js";

export type InferenceKind = "chat" | "completion" | "embedding";

/** The one field the route needs besides the model, and what it must be. */
const INPUT_FIELD: Record<InferenceKind, string> = {
  chat: "messages",
  completion: "prompt",
  embedding: "input",
};

function isStringOrArray(value: unknown): boolean {
  return typeof value === "string" || Array.isArray(value);
}

/**
 * Checks the fields the gateway itself reads, so bad input is a 400 naming the param and never
 * reaches llama-server. Everything else in the body is llama-server's to judge.
 */
export function validateInference(kind: InferenceKind, body: Record<string, unknown>): void {
  if (body.model !== undefined && (typeof body.model !== "string" || body.model === "")) {
    throw new GatewayError("invalid_request", "model must be a non-empty string", { param: "model" });
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") {
    throw new GatewayError("invalid_request", "stream must be a boolean", { param: "stream" });
  }
  const field = INPUT_FIELD[kind];
  const value = body[field];
  if (value === undefined)
    throw new GatewayError("invalid_request", `${field} is required`, { param: field });
  const ok = kind === "chat" ? Array.isArray(value) : isStringOrArray(value);
  if (!ok) {
    const expected = kind === "chat" ? "an array of messages" : "a string or an array";
    throw new GatewayError("invalid_request", `${field} must be ${expected}`, { param: field });
  }
}
