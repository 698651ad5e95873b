import { z } from "zod";
import { durationSchema } from "./unit-schemas.js";

/** One remote server a model's requests may go to besides (or instead of) its local instances. */
export function upstreamSchema() {
  return z
    .strictObject({
      url: z
        .string()
        .refine((text) => {
          try {
            const url = new URL(text);
            return (
              (url.protocol === "http:" || url.protocol === "https:") && url.search === "" && url.hash === ""
            );
          } catch {
            return false;
          }
        }, "must be an http:// or https:// URL without query or fragment, e.g. http://gpu-box-1:8080")
        .describe(
          "Base URL of a llama-server, another OpenAI-compatible server or another gateway; request paths (/v1/chat/completions, ...) are appended to it.",
        ),
      name: z
        .string()
        .regex(/^[A-Za-z0-9._:-]{1,64}$/, "1..64 of A-Z a-z 0-9 . _ : -")
        .optional()
        .describe("Its name in /admin/status, logs and metrics (`<model>@<name>`). Default: host:port."),
      keyEnv: z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name")
        .optional()
        .describe("Environment variable holding the API key sent to it (Authorization: Bearer)."),
      keyFile: z
        .string()
        .min(1)
        .optional()
        .describe("File whose first line is the API key sent to it (relative to the config file)."),
      model: z
        .string()
        .min(1)
        .optional()
        .describe(
          "The model name to ask it for (the request's `model` is rewritten). Default: this model's id.",
        ),
      maxConcurrent: z
        .number()
        .int()
        .min(1)
        .max(4096)
        .default(4)
        .describe(
          "Requests sent to it at once; more wait in the gateway's queue (or go to other instances).",
        ),
      healthPath: z
        .string()
        .regex(/^\/[^?#]*$/, "a path starting with /")
        .default("/health")
        .describe(
          "Path of its health check (200 = healthy): /health for llama-server and this gateway, e.g. /v1/models for others.",
        ),
    })
    .superRefine((upstream, ctx) => {
      if (upstream.keyEnv !== undefined && upstream.keyFile !== undefined)
        ctx.addIssue({ code: "custom", path: ["keyFile"], message: "set keyEnv or keyFile, not both" });
    })
    .describe(
      "A remote server of this model: health-checked, balanced with local instances, never started or stopped.",
    );
}

/** How remote upstreams are checked and ejected (docs/upstreams.md). */
export function upstreamHealthSchema() {
  return z
    .strictObject({
      interval: durationSchema("5s", "How often each remote upstream's health path is requested.", 100),
      timeout: durationSchema("2s", "A health check slower than this failed.", 1),
      fall: z.number().int().min(1).max(100).default(3).describe("Failed checks in a row that take it out."),
      rise: z
        .number()
        .int()
        .min(1)
        .max(100)
        .default(2)
        .describe("Passed checks in a row that bring it back."),
      ejectAfter: z
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(5)
        .describe(
          "Passive check: requests in a row that failed on it (connection failed, or a 5xx answer) eject it.",
        ),
      ejectTime: durationSchema("30s", "How long the first ejection lasts; each one in a row doubles it.", 1),
      maxEjectTime: durationSchema("5m", "The longest ejection.", 1),
    })
    .prefault({})
    .describe("Active and passive health checks of remote upstreams.");
}
