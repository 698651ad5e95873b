import { z } from "zod";
import { MODEL_NAME_PATTERN, modelNameError } from "./model-name.js";
import {
  durationSchema,
  optionalDurationSchema,
  optionalSizeSchema,
  overrideDurationSchema,
} from "./unit-schemas.js";
import { upstreamSchema } from "./upstream-schema.js";

/** Filled by the spawner with each instance's port; a `cmd` without it cannot be reached. */
const PORT_PLACEHOLDER = "${PORT}";

const CMD_DESCRIPTION =
  "Full argv instead of model+args; must contain ${PORT}. ${MODEL} and ${API_KEY} are also filled at spawn time.";

/** Arguments the gateway itself passes in the `model:` form; a second copy in `args` would fight it. */
const GATEWAY_OWNED_ARGS = [
  "-m",
  "--model",
  "-a",
  "--alias",
  "--host",
  "--port",
  "--api-key",
  "--api-key-file",
];

/** A model id or alias (see model-name.ts); the pattern is for editors, modelNameError for messages. */
export function modelNameSchema(description: string) {
  return z
    .string()
    .superRefine((name, ctx) => {
      const error = modelNameError(name);
      if (error !== null) ctx.addIssue({ code: "custom", message: `invalid name: ${error}` });
    })
    .meta({ description, pattern: MODEL_NAME_PATTERN });
}

/** YAML reads `-c 4096` as a number; the child's argv wants strings, so numbers are converted. */
function argumentSchema() {
  return z
    .union([z.string(), z.number()])
    .transform(String)
    .describe("One argument; numbers are converted to strings.");
}

/**
 * One entry under `models:`. Fields whose values are converted use `prefault`, not `default`:
 * zod keeps a transforming schema's default out of the input-side JSON schema.
 */
export function modelSchema() {
  return z
    .strictObject({
      model: z
        .string()
        .min(1)
        .optional()
        .describe(
          "Path of the GGUF file, relative to the config file's folder. Set exactly one of model and cmd (or neither, with upstreams).",
        ),
      cmd: z
        .array(argumentSchema())
        .min(1)
        .optional()
        .meta({ description: CMD_DESCRIPTION, contains: { type: "string", pattern: "\\$\\{PORT\\}" } }),
      args: z
        .array(argumentSchema())
        .prefault([])
        .describe('Extra llama-server arguments for the model form, e.g. ["-c", "4096", "-ngl", "99"].'),
      aliases: z
        .array(modelNameSchema("An alias, listed by GET /v1/models."))
        .default([])
        .describe("Other names that resolve to this model and are listed by GET /v1/models."),
      unlistedAliases: z
        .array(modelNameSchema("An alias that resolves but is not listed."))
        .default([])
        .describe("Other names that resolve to this model but are not listed by GET /v1/models."),
      instances: z
        .number()
        .int()
        .min(1)
        .max(64)
        .default(1)
        .describe("How many llama-server processes serve this model (1..64); none without model or cmd."),
      upstreams: z
        .array(upstreamSchema())
        .max(64)
        .default([])
        .describe(
          "Remote servers of this model (docs/upstreams.md), instead of or besides local instances: balanced with them by the least-busy rule, health-checked, never started, stopped or evicted by the gateway.",
        ),
      startupTimeout: durationSchema("120s", "How long a start may take until /health answers 200.", 1),
      stopTimeout: durationSchema("10s", "Grace between SIGTERM and SIGKILL when stopping."),
      env: z
        .record(
          z.string().regex(/^[^=\0]+$/, "an environment variable name must not be empty or contain = or NUL"),
          z
            .union([z.string(), z.number(), z.boolean()])
            .transform(String)
            .describe("The value; numbers and booleans are converted to strings."),
        )
        .prefault({})
        .describe("Extra environment variables for the child, e.g. CUDA_VISIBLE_DEVICES."),
      ownedBy: z.string().min(1).default("llamawrapper").describe("Shown as owned_by in GET /v1/models."),
      pinned: z.boolean().default(false).describe("Never unloaded to make room for another model."),
      preload: z
        .boolean()
        .default(false)
        .describe("Started when the gateway starts, not on the first request."),
      ttl: optionalDurationSchema("Unload the model after it has been idle this long."),
      metrics: z
        .boolean()
        .default(false)
        .describe(
          "Start its llama-server children with their Prometheus endpoint on (LLAMA_ARG_ENDPOINT_METRICS=1, i.e. --metrics) and merge their llamacpp:* series into the gateway's /metrics, labelled with model and instance.",
        ),
      sla: slaOverrideSchema(),
      cache: z
        .boolean()
        .default(true)
        .describe(
          "Whether this model's deterministic answers go through the response cache (see cache); false = never looked up or stored.",
        ),
      affinity: z
        .boolean()
        .default(true)
        .describe(
          "Conversation-affine routing: a request that continues a conversation (its leading messages, or the start of its prompt, match a request served recently) goes to the instance and llama-server slot that served it, where the prompt is still cached. false = the least busy instance, as without it.",
        ),
      kvCache: z
        .boolean()
        .default(true)
        .describe(
          "Save this model's slots' KV caches when it is unloaded and restore them when their conversations come back (kvCache.enabled must be on too).",
        ),
      maxConcurrent: z
        .number()
        .int()
        .min(1)
        .max(4096)
        .nullable()
        .default(null)
        .describe(
          "Requests sent to one instance at once; more wait in the gateway's queue. Default: the -np/--parallel value in args, else 4 (llama-server's automatic slot count).",
        ),
      maxQueue: z
        .number()
        .int()
        .min(0)
        .nullable()
        .default(null)
        .describe(
          "Requests that may wait for this model; more get 503 queue_full. Default: scheduler.maxQueue.",
        ),
      queueTimeout: optionalDurationSchema(
        "Longest wait in this model's queue before 503 queue_timeout. Default: scheduler.queueTimeout.",
      ),
      firstByteTimeout: optionalDurationSchema(
        "Deadline for this model's first response byte from llama-server; then 504. Default: server.firstByteTimeout.",
      ),
      memory: optionalSizeSchema(
        "Memory this model needs, for scheduler.memoryBudget. Default: estimated from the GGUF file and context size.",
      ),
    })
    .superRefine((model, ctx) => {
      for (const issue of launchIssues(model)) ctx.addIssue({ code: "custom", ...issue });
    })
    .meta({
      description: "One model: a GGUF file (model + args) or a full command (cmd).",
      // For editors only: launchIssues is what enforces this at load time.
      anyOf: [{ required: ["model"] }, { required: ["cmd"] }, { required: ["upstreams"] }],
    });
}

interface LaunchFields {
  readonly model?: string | undefined;
  readonly cmd?: readonly string[] | undefined;
  readonly args: readonly string[];
  readonly upstreams: readonly unknown[];
}

/** The rules that tie model, cmd and args together; each issue is relative to the model. */
function launchIssues(model: LaunchFields): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  if (model.model === undefined && model.cmd === undefined && model.upstreams.length === 0) {
    issues.push({
      path: [],
      message: "set exactly one of model (a GGUF file) or cmd (a full argv), or list upstreams",
    });
  }
  if (model.model === undefined && model.cmd === undefined && model.args.length > 0) {
    issues.push({ path: ["args"], message: "args only applies with model" });
  }
  if (model.model !== undefined && model.cmd !== undefined) {
    issues.push({ path: ["cmd"], message: "set either model or cmd, not both" });
  }
  if (model.cmd !== undefined && !model.cmd.some((arg) => arg.includes(PORT_PLACEHOLDER))) {
    issues.push({
      path: ["cmd"],
      message: `must contain ${PORT_PLACEHOLDER}: the gateway picks each instance's port and has no other way to tell the child`,
    });
  }
  if (model.cmd !== undefined && model.args.length > 0) {
    issues.push({ path: ["args"], message: "args only applies with model; put the arguments into cmd" });
  }
  if (model.model !== undefined) {
    model.args.forEach((arg, i) => {
      const flag = arg.split("=")[0] ?? arg;
      if (GATEWAY_OWNED_ARGS.includes(flag)) {
        issues.push({
          path: ["args", i],
          message: `${flag} is set by the gateway; use cmd for full control`,
        });
      }
    });
  }
  return issues;
}

/** A model's own SLA objectives: each field given replaces the default (sla: at the top). */
function slaOverrideSchema() {
  return z
    .strictObject({
      ttft: overrideDurationSchema("Objective for time to first token of streamed requests; null = none."),
      latency: overrideDurationSchema("Objective for a whole request's duration; null = none."),
      availability: z
        .number()
        .min(0)
        .lt(1)
        .optional()
        .describe("Share of requests that must be good. Default: the top-level value."),
      window: overrideDurationSchema("The sliding window of this model's SLA numbers.", 60_000),
    })
    .optional()
    .describe("This model's SLA objectives; each field given replaces the top-level sla default.");
}
