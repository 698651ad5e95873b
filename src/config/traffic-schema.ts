import { z } from "zod";
import { durationSchema, redisUrlSchema, sizeSchema } from "./unit-schemas.js";

/**
 * Schemas of the traffic-control keys: the server's limits and timeouts, CORS and rate limits.
 * Functions, not constants, for the same reason as schema.ts (zod's global registry).
 */

/** Fields spread into `server:` next to host, port, bodyLimit and headersTimeout. */
export function serverTrafficFields() {
  return {
    requestTimeout: durationSchema(
      "60s",
      "Deadline for the whole request, headers and body, to arrive; then 408. Never shorter than headersTimeout.",
      1,
    ),
    maxHeaderSize: sizeSchema("16KiB", "Largest accepted request head (request line and headers); then 431."),
    maxConnections: z
      .union([z.literal("auto"), z.number().int().min(1)])
      .default("auto")
      .describe(
        "Client connections open at once. At the cap a newcomer is admitted by closing the connection that has been idle longest (a keep-alive one between requests, or one that has not sent a byte yet); only when every connection has a request in flight is the newcomer closed. auto (the default): what the process's file-descriptor limit allows, read at start and on reload: (limit - 256) / 2, between 64 and 16384, with a warning when that is under 1024.",
      ),
    maxConnectionsPerClient: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe(
        "Connections one client address may hold open; at the cap, its own longest-idle connection is closed to admit a new one, else the new one is closed. By the socket's address: X-Forwarded-For is not known when a connection opens, so behind a proxy every connection counts as the proxy's. Default half of maxConnections (one client can never hold them all, while an application server with hundreds of concurrent streams from one address still gets them), or maxConnections when trustProxy is over 0 (all connections then come from the proxy).",
      ),
    firstByteTimeout: durationSchema(
      "600s",
      "Deadline for llama-server's first response byte; then 504. A non-streaming answer arrives whole, so this bounds a whole generation. A model's own firstByteTimeout overrides it.",
      1,
    ),
    streamIdleTimeout: durationSchema(
      "300s",
      "A response that moves no byte for this long is cut: a silent llama-server (504 or an in-band error), or a client that stopped reading (dropped, its upstream request cancelled).",
      1,
    ),
    minStreamRate: sizeSchema("1KiB", "Bytes per second.")
      .nullable()
      .describe(
        "Bytes per second a client must take its answer at, on average over streamRateWindow, while the gateway waits on it (its socket is full); a slower reader is dropped and its upstream request cancelled, so a client that drains a trickle cannot hold a backend slot for ever. Time in which llama-server is the slow side does not count. Default 1KiB; null = off.",
      ),
    streamRateWindow: durationSchema(
      "30s",
      "The window minStreamRate is averaged over: a reader is dropped once the gateway has waited on it for a whole window.",
      1,
    ),
    maxResponseBuffer: sizeSchema(
      "16MiB",
      "Most bytes of a non-streamed or error answer from llama-server the gateway holds in memory; past it the upstream request is cancelled and the client gets 502 backend_response_too_large. Streams are relayed, not held, and are not limited by it.",
    ),
    requestLimits: requestLimitsSchema(),
    trustProxy: z
      .number()
      .int()
      .min(0)
      .max(16)
      .default(0)
      .describe(
        "How many reverse-proxy hops in front of the gateway to trust: the client address is then taken that many entries from the right of X-Forwarded-For. 0 = the socket's address; X-Forwarded-For is ignored.",
      ),
    allowedHosts: z
      .array(z.string().min(1).describe("A host name, without port."))
      .default([])
      .describe(
        "Host header names accepted besides loopback names. When listening on loopback, any other Host is refused (DNS-rebinding guard); when set, it is checked on any address.",
      ),
  };
}

function count(fallback: number, max: number, description: string) {
  return z.number().int().min(1).max(max).default(fallback).describe(`${description} Default ${fallback}.`);
}

/** Shape limits checked before a request reaches llama-server (docs/request-policy.md). */
function requestLimitsSchema() {
  return z
    .strictObject({
      maxJsonDepth: count(
        64,
        10_000,
        "Deepest nesting of objects and arrays in a request body, checked on the raw bytes before parsing (llama-server crashes on very deep tools or schemas).",
      ),
      maxPrompts: count(
        2048,
        1_000_000,
        "Most entries in a batch input: prompt (completions), input (embeddings), documents or texts (rerank).",
      ),
      maxN: count(16, 1_000, "Largest n (completions generated per prompt)."),
      maxTools: count(128, 100_000, "Most entries in tools."),
      maxSchemaSize: sizeSchema(
        "128KiB",
        "Largest JSON schema (response_format's schema, json_schema, a tool's parameters), as compact JSON.",
      ),
    })
    .prefault({})
    .describe(
      "Bounds on the shape of a request body; a request past one gets 400 request_limit_exceeded naming the field.",
    );
}

const ORIGIN_PATTERN = /^(\*|[a-z][a-z0-9+.-]*:\/\/[^/\s]+)$/i;

export function corsSchema() {
  return z
    .strictObject({
      origins: z
        .array(
          z
            .string()
            .regex(ORIGIN_PATTERN, 'an origin is "*" or scheme://host[:port], e.g. https://app.example.com')
            .describe("An origin, or a pattern where * stands for any run of characters but /."),
        )
        .default([])
        .describe(
          "Browser origins allowed to call the API: exact (https://app.example.com), patterns (https://*.example.com) or *. Empty: only same-origin pages; requests from other origins get 403.",
        ),
      methods: z
        .array(z.string().regex(/^[A-Z]+$/, "an HTTP method in capitals"))
        .default(["GET", "POST"])
        .describe("Methods a cross-origin page may use."),
      headers: z
        .array(z.string().min(1))
        .default(["*"])
        .describe("Request headers a cross-origin page may send; * allows whatever its preflight asks for."),
      exposeHeaders: z
        .array(z.string().min(1))
        .default([
          "x-request-id",
          "retry-after",
          "x-ratelimit-limit",
          "x-ratelimit-remaining",
          "x-ratelimit-reset",
          "x-cache",
          "x-gateway-route",
        ])
        .describe("Response headers a cross-origin page may read."),
      credentials: z
        .boolean()
        .default(false)
        .describe("Allow cookies and HTTP authentication from cross-origin pages. Not with origin *."),
      maxAge: durationSchema("10m", "How long a browser may cache a preflight answer."),
    })
    .superRefine((cors, ctx) => {
      if (cors.credentials && cors.origins.includes("*")) {
        ctx.addIssue({
          code: "custom",
          path: ["credentials"],
          message:
            'credentials: true with origin "*" would let any web page call the API as the user; list the origins instead',
        });
      }
    })
    .prefault({})
    .describe("Cross-origin (browser) access. Admin routes are never available cross-origin.");
}

function perMinute(description: string) {
  return z.number().int().min(1).nullable().describe(description);
}

/** The limit fields; `rateLimit:` fills defaults, a key's override leaves the absent ones unset. */
function limitFields() {
  return {
    requestsPerMinute: perMinute("Requests per minute; null = no request limit."),
    tokensPerMinute: perMinute(
      "Prompt plus completion tokens per minute; null = no token limit. Prompt tokens are estimated when the request arrives and corrected from the answer's usage.",
    ),
    burst: z
      .number()
      .int()
      .min(1)
      .describe("Requests that may arrive at once from a full bucket; at most requestsPerMinute."),
  };
}

export function rateLimitSchema() {
  const fields = limitFields();
  return z
    .strictObject({
      requestsPerMinute: fields.requestsPerMinute.default(null),
      tokensPerMinute: fields.tokensPerMinute.default(null),
      burst: fields.burst.default(20),
      redis: redisUrlSchema(
        "redis:// URL: the counters live in Redis, so several gateways enforce one limit. null = counted in this process.",
      ),
    })
    .prefault({})
    .describe(
      "Default limits per API key, or per client address when no key is needed. A token bucket: refills at the per-minute rate, holds at most burst requests.",
    );
}

/** A key's own `rateLimit`: each field given replaces the default; null turns that limit off. */
export function rateLimitOverrideSchema() {
  const fields = limitFields();
  return z
    .strictObject({
      requestsPerMinute: fields.requestsPerMinute.optional(),
      tokensPerMinute: fields.tokensPerMinute.optional(),
      burst: fields.burst.optional(),
    })
    .optional()
    .describe("This key's limits; fields not given come from the top-level rateLimit.");
}
