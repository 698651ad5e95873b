import type { RequestLimits } from "../../config/security-types.js";
import { GatewayError } from "../../errors/gateway-error.js";
import type { ApiSpec, FieldType } from "./api-specs.js";
import { checkRequestPolicy } from "./request-policy.js";
import { checkRequestShape, DEFAULT_REQUEST_LIMITS } from "./request-shape.js";

type Body = Record<string, unknown>;

function invalid(param: string, message: string): GatewayError {
  return new GatewayError("invalid_request", message, { param });
}

function isObject(value: unknown): value is Body {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const EXPECTED: Record<FieldType, string> = {
  string: "a string",
  array: "an array",
  "string-or-array": "a string or an array",
  messages: "an array of message objects",
  "positive-integer": "an integer of at least 1",
};

function fits(type: FieldType, value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "array":
    case "messages":
      return Array.isArray(value);
    case "string-or-array":
      return typeof value === "string" || Array.isArray(value);
    case "positive-integer":
      return Number.isSafeInteger(value) && (value as number) >= 1;
  }
}

/** The fields every route reads: which model, whether to stream, and whether to count usage. */
function checkCommon(body: Body): void {
  if (body.model !== undefined && (typeof body.model !== "string" || body.model === "")) {
    throw invalid("model", "model must be a non-empty string");
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") {
    throw invalid("stream", "stream must be a boolean");
  }
  const options = body.stream_options;
  if (options !== undefined && options !== null) {
    if (!isObject(options)) throw invalid("stream_options", "stream_options must be an object");
    const include = options.include_usage;
    if (include !== undefined && include !== null && typeof include !== "boolean") {
      throw invalid("stream_options.include_usage", "stream_options.include_usage must be a boolean");
    }
  }
}

/**
 * Checks what the gateway itself reads or must keep from llama-server, so bad input is a 400
 * naming the param and never reaches llama-server: the common fields, the route's input
 * fields, the shape limits and the request policy (docs/request-policy.md). Everything else is
 * llama-server's to judge.
 */
export function validateRequest(
  spec: ApiSpec,
  body: Body,
  limits: RequestLimits = DEFAULT_REQUEST_LIMITS,
): void {
  checkCommon(body);
  for (const rule of spec.fields) {
    const value = body[rule.name];
    if (value === undefined || value === null) {
      if (rule.required) throw invalid(rule.name, `${rule.name} is required`);
      continue;
    }
    if (!fits(rule.type, value)) throw invalid(rule.name, `${rule.name} must be ${EXPECTED[rule.type]}`);
    if (rule.type === "messages") {
      const messages = value as unknown[];
      const bad = messages.findIndex((message) => !isObject(message));
      if (bad !== -1) throw invalid(`${rule.name}[${bad}]`, `${rule.name}[${bad}] must be an object`);
    }
  }
  if (spec.oneOf.length > 0 && spec.oneOf.every((name) => body[name] === undefined || body[name] === null)) {
    throw invalid(spec.oneOf[0] as string, `one of ${spec.oneOf.join(", ")} is required`);
  }
  checkRequestShape(spec, body, limits);
  checkRequestPolicy(body);
}
