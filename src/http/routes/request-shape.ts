import type { RequestLimits } from "../../config/security-types.js";
import { GatewayError } from "../../errors/gateway-error.js";
import type { ApiSpec } from "./api-specs.js";

type Body = Record<string, unknown>;

/**
 * server.requestLimits' defaults (traffic-schema.ts; a test keeps the two equal), for callers
 * that are given none. docs/request-policy.md ("Shape limits") says why each is what it is.
 */
export const DEFAULT_REQUEST_LIMITS: RequestLimits = {
  maxJsonDepth: 64,
  maxPrompts: 2048,
  maxN: 16,
  maxTools: 128,
  maxSchemaBytes: 128 * 1024,
};

function isObject(value: unknown): value is Body {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function tooMuch(param: string, message: string): GatewayError {
  return new GatewayError("request_limit_exceeded", message, { param });
}

/**
 * How many separate inputs a batch field holds, as llama-server splits them
 * (server-common.cpp tokenize_input_prompts): a string, or an array of token ids (with or
 * without strings mixed in), is one prompt; any other array holds one prompt per entry.
 */
export function countInputs(value: unknown): number {
  if (!Array.isArray(value)) return value === undefined || value === null ? 0 : 1;
  const flat = value.every((item) => typeof item === "number" || typeof item === "string");
  const tokens = value.some((item) => typeof item === "number");
  return flat && tokens ? 1 : value.length;
}

/** The JSON schemas a body carries, each with the param that names it. */
function schemasOf(body: Body): Array<[string, unknown]> {
  const found: Array<[string, unknown]> = [];
  const format = body.response_format;
  if (isObject(format)) {
    if (isObject(format.json_schema))
      found.push(["response_format.json_schema.schema", format.json_schema.schema]);
    found.push(["response_format.schema", format.schema]);
  }
  found.push(["json_schema", body.json_schema]);
  if (Array.isArray(body.tools)) {
    body.tools.forEach((tool, i) => {
      if (!isObject(tool)) return;
      // OpenAI chat: function.parameters; Responses API: parameters; Anthropic: input_schema.
      if (isObject(tool.function)) found.push([`tools[${i}].function.parameters`, tool.function.parameters]);
      found.push([`tools[${i}].parameters`, tool.parameters]);
      found.push([`tools[${i}].input_schema`, tool.input_schema]);
    });
  }
  return found.filter(([, schema]) => schema !== undefined && schema !== null);
}

/**
 * Refuses a body whose shape asks for more work than one request may: too many prompts in a
 * batch, too large an `n`, too many tools, too large a JSON schema (llama-server turns each
 * into a grammar). Nesting depth was already checked on the raw bytes (json-depth.ts), so
 * walking the value here cannot overflow the stack.
 */
export function checkRequestShape(spec: ApiSpec, body: Body, limits: RequestLimits): void {
  for (const field of spec.batch) {
    const count = countInputs(body[field]);
    if (count > limits.maxPrompts) {
      throw tooMuch(
        field,
        `${field} holds ${count} inputs; at most ${limits.maxPrompts} are accepted in one request (server.requestLimits.maxPrompts)`,
      );
    }
  }
  if (typeof body.n === "number" && body.n > limits.maxN) {
    throw tooMuch("n", `n may be at most ${limits.maxN} (server.requestLimits.maxN)`);
  }
  if (Array.isArray(body.tools) && body.tools.length > limits.maxTools) {
    throw tooMuch(
      "tools",
      `tools holds ${body.tools.length} tools; at most ${limits.maxTools} are accepted (server.requestLimits.maxTools)`,
    );
  }
  for (const [param, schema] of schemasOf(body)) {
    const bytes = Buffer.byteLength(JSON.stringify(schema));
    if (bytes > limits.maxSchemaBytes) {
      throw tooMuch(
        param,
        `${param} is ${bytes} bytes of JSON schema; at most ${limits.maxSchemaBytes} are accepted (server.requestLimits.maxSchemaSize)`,
      );
    }
  }
}
