import type { RequestRecord } from "../../src/http/request-record.js";

/**
 * A complete RequestRecord for tests and benchmarks: a finished, non-streamed chat completion
 * with nothing measured, overridden by `over`. One place lists every field, so a field the HTTP
 * layer adds is added here once.
 */
export function requestRecord(over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    requestId: "r",
    at: 0,
    method: "POST",
    route: "/v1/chat/completions",
    status: 200,
    durationMs: 10,
    ttfbMs: null,
    queueMs: null,
    upstreamMs: null,
    model: "m",
    instance: "m#0",
    keyName: null,
    usage: null,
    tokensPerSecond: null,
    cache: null,
    routing: null,
    errorCode: null,
    stream: false,
    modelAsked: null,
    userAgent: null,
    ...over,
  };
}
