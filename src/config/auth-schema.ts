import { z } from "zod";
import { KEY_PATTERN } from "./key-pattern.js";
import { rateLimitOverrideSchema } from "./traffic-schema.js";

/** Names show up in logs; no brackets, so they never clash with `apiKeys[N]` of a plain key. */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9._@:-]{1,64}$/;

function secretFields() {
  return {
    name: z
      .string()
      .regex(KEY_NAME_PATTERN, "1..64 of A-Z a-z 0-9 . _ @ : -")
      .describe("Shown in logs instead of the key."),
    key: z
      .string()
      .min(1)
      .regex(KEY_PATTERN, "printable ASCII without spaces")
      .optional()
      .describe('The key itself; prefer "${env:NAME}" to writing it into the file. Set key or keyFile.'),
    keyFile: z
      .string()
      .min(1)
      .optional()
      .describe("File whose first line is the key, relative to this file; read when the gateway starts."),
  };
}

function oneSecret(entry: { key?: string | undefined; keyFile?: string | undefined }, ctx: z.RefinementCtx) {
  if ((entry.key === undefined) === (entry.keyFile === undefined)) {
    ctx.addIssue({ code: "custom", path: [], message: "set exactly one of key or keyFile" });
  }
}

function plainKey(description: string) {
  return z.string().min(1).regex(KEY_PATTERN, "printable ASCII without spaces").describe(description);
}

function apiKeySchema() {
  return z.union([
    plainKey("A key; logs name it by its position, apiKeys[N]."),
    z
      .strictObject({
        ...secretFields(),
        models: z
          .array(z.string().min(1).describe("A model id, alias, or glob such as gpt-*."))
          .optional()
          .describe(
            "Models this key may use (ids, aliases, globs); a pattern matching any name of a model allows it. Default: all.",
          ),
        routes: z
          .array(z.string().startsWith("/").describe("A path, or a glob such as /v1/*."))
          .optional()
          .describe("Routes this key may call (paths or globs). Default: every route but /admin/*."),
        rateLimit: rateLimitOverrideSchema(),
      })
      .superRefine(oneSecret)
      .describe("A named key with optional scopes and limits."),
  ]);
}

function adminKeySchema() {
  return z.union([
    plainKey("An admin key; logs name it by its position, adminKeys[N]."),
    z.strictObject(secretFields()).superRefine(oneSecret).describe("A named admin key."),
  ]);
}

export function authSchema() {
  return z
    .strictObject({
      apiKeys: z
        .array(apiKeySchema())
        .default([])
        .describe(
          "Keys for the API (Authorization: Bearer KEY, or x-api-key: KEY). None here and none in adminKeys: the API is open to anyone who can reach it.",
        ),
      adminKeys: z
        .array(adminKeySchema())
        .default([])
        .describe("Keys for /admin/* (and the API, with every model). Admin routes accept no other key."),
      publicMetrics: z.boolean().default(false).describe("Whether /metrics answers without a key."),
    })
    .prefault({})
    .describe("API keys. Keys are compared in constant time and never logged; logs show their names.");
}
