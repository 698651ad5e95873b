import type { IncomingMessage } from "node:http";
import { GatewayError } from "../errors/gateway-error.js";
import { findTooDeep } from "./json-depth.js";

/**
 * Reads the whole (small) request body into one Buffer, refusing it when it is over `limit`:
 * before reading when Content-Length says so, while reading otherwise. Forwarding this Buffer
 * is the cheapest shape for the proxy (docs/architecture.md: piping the body upstream was half as fast).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onAborted = () => {
      cleanup();
      reject(
        new GatewayError("request_timeout", "the client closed the connection before the body was complete"),
      );
    };
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onAborted);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onAborted);
  });
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError("body_too_large", `request body is larger than the limit of ${limit} bytes`);
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** server.requestLimits.maxJsonDepth's default, for callers that are given none. */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/**
 * Parses a JSON object body; nesting deeper than `maxDepth` (checked on the bytes, before
 * parsing), invalid UTF-8, bad JSON and non-objects are 400s.
 */
export function parseJsonObject(body: Buffer, maxDepth = DEFAULT_MAX_JSON_DEPTH): Record<string, unknown> {
  const deep = findTooDeep(body, maxDepth);
  if (deep !== null) {
    const where = deep.key === null ? "" : ` (in ${deep.key})`;
    throw new GatewayError(
      "request_limit_exceeded",
      `request body nests objects and arrays deeper than ${maxDepth} levels${where}; the limit is server.requestLimits.maxJsonDepth`,
      deep.key === null ? {} : { param: deep.key },
    );
  }
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    throw new GatewayError("invalid_json", "request body is not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new GatewayError("invalid_json", `request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new GatewayError("invalid_request", "request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}
