import { z } from "zod";
import { authSchema } from "./auth-schema.js";
import { modelNameSchema, modelSchema } from "./model-schema.js";
import { slaSchema } from "./sla-schema.js";
import { corsSchema, rateLimitSchema, serverTrafficFields } from "./traffic-schema.js";
import type { LogLevel } from "./types.js";
import { durationSchema, optionalSizeSchema, redisUrlSchema, sizeSchema } from "./unit-schemas.js";
import { upstreamHealthSchema } from "./upstream-schema.js";

/** `satisfies` both ways: adding a level to LogLevel without listing it here fails to compile. */
const LOG_LEVELS = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warn",
  error: "error",
  fatal: "fatal",
  silent: "silent",
} as const satisfies { [K in LogLevel]: K };

/**
 * The YAML file as users write it. Parsing it turns durations into milliseconds and sizes into
 * bytes and fills defaults; load.ts then checks names and files and builds the GatewayConfig.
 * Functions, not module constants: `.describe`/`.meta` write to zod's global registry, and
 * importing a module should not. Every field has a description: it becomes config.schema.json.
 */
export function configSchema() {
  return z
    .strictObject({
      server: serverSchema(),
      llamaServer: z
        .strictObject({
          binary: z
            .string()
            .min(1)
            .nullable()
            .default(null)
            .describe(
              "llama-server for model entries; null = llama-server on PATH, else the one `llamawrapper setup` built. A path with / is relative to the config file.",
            ),
          sockets: z
            .boolean()
            .default(true)
            .describe(
              "`model:` children listen on Unix sockets in a private folder (mode 0700) instead of loopback TCP ports: less CPU per request, no port races, unreachable by other local users. false = loopback ports. `cmd:` children and remote upstreams always use TCP. Needs a restart.",
            ),
        })
        .prefault({})
        .describe("The llama.cpp server binary."),
      scheduler: z
        .strictObject({
          maxLoadedModels: z
            .number()
            .int()
            .min(1)
            .default(2)
            .describe(
              "How many models may be loaded at once; the least recently used is unloaded to make room.",
            ),
          memoryBudget: z
            .union([
              z.literal("auto"),
              optionalSizeSchema(
                "Memory all loaded models may use together (e.g. 20GiB); models are unloaded, least recently used first, until a new one fits.",
              ),
            ])
            .describe(
              "Memory all loaded models may use together (e.g. 20GiB), or `auto`: the free GPU memory (nvidia-smi or rocm-smi) minus memoryMargin, read at start and on each reload. Models are unloaded, least recently used first, until a new one fits. Default: not set.",
            ),
          memoryMargin: sizeSchema(
            "1GiB",
            "With memoryBudget: auto, GPU memory left free for other processes and llama.cpp's own buffers.",
          ),
          maxQueue: z
            .number()
            .int()
            .min(0)
            .default(512)
            .describe(
              "Requests that may wait per model (for a free slot or a load); more get 503 queue_full.",
            ),
          queueTimeout: durationSchema("60s", "Longest wait in a model's queue before 503 queue_timeout.", 1),
          coolDown: durationSchema(
            "30s",
            "How long a model parked as failed (it crashed or failed to load 5 times in 60 s) waits before it tries again by itself; doubles with each cool-down in a row, up to maxCoolDown.",
            1,
          ),
          maxCoolDown: durationSchema("10m", "The longest cool-down of a failed model.", 1),
          swapDelay: durationSchema(
            "10s",
            "The longest a request for a model that is not loaded is held back while the loaded models it would replace keep serving requests (so fewer swaps happen); past it, requests arriving for those models wait behind it. 0 = first come, first served across models.",
          ),
        })
        .prefault({})
        .describe("Which models stay loaded."),
      logging: z
        .strictObject({
          level: z.enum(LOG_LEVELS).default("info").describe("Lowest level written to the log."),
          file: z
            .string()
            .min(1)
            .nullable()
            .default(null)
            .describe(
              "Write the log to this file (relative to the config file) instead of stdout. A failing log (disk full) never stops the gateway: lines are dropped.",
            ),
        })
        .prefault({})
        .describe("Logging."),
      cache: cacheSchema(),
      kvCache: kvCacheSchema(),
      upstreamHealth: upstreamHealthSchema(),
      sla: slaSchema(),
      history: historySchema(),
      dashboard: z
        .strictObject({
          enabled: z.boolean().default(true).describe("Serve the web dashboard at /dashboard."),
          public: z
            .boolean()
            .default(false)
            .describe(
              "Let the dashboard show models, requests and metrics without a key (read-only: loading, unloading and the playground still need keys). Default: its data needs an admin key.",
            ),
        })
        .prefault({})
        .describe("The embedded web dashboard (GET /dashboard)."),
      cors: corsSchema(),
      auth: authSchema(),
      rateLimit: rateLimitSchema(),
      discovery: z
        .strictObject({
          dir: z
            .string()
            .min(1)
            .nullable()
            .default(null)
            .describe(
              "Serve every .gguf file under this folder (relative to the config file) as a model, with settings read from each file; entries under models win on conflicts. Also: --models-dir.",
            ),
          maxContext: z
            .number()
            .int()
            .min(512)
            .default(8192)
            .describe(
              "The longest context (-c) given to a discovered model: its trained context, capped here (and lowered to fit scheduler.memoryBudget).",
            ),
        })
        .prefault({})
        .describe("Zero config: models found in a folder."),
      defaultModel: z
        .string()
        .min(1)
        .nullable()
        .default(null)
        .describe("Model (id or alias) used when a request names none."),
      models: z
        .record(
          modelNameSchema("Model id: 1..128 of A-Z a-z 0-9 . _ : / -, not starting with . or /."),
          modelSchema(),
          {
            error: (issue) =>
              issue.input === undefined ? "required: configure at least one model" : undefined,
          },
        )
        .refine((models) => Object.keys(models).length > 0, "configure at least one model")
        .meta({ description: "The models, by id.", minProperties: 1 }),
    })
    .describe("LlamaWrapper Gateway configuration.");
}

/** The request history (GET /admin/requests, the dashboard). */
function historySchema() {
  return z
    .strictObject({
      size: z
        .number()
        .int()
        .min(0)
        .max(1_000_000)
        .default(1000)
        .describe("How many recent requests are kept in memory for GET /admin/requests; 0 = none."),
      file: z
        .string()
        .min(1)
        .nullable()
        .default(null)
        .describe(
          "Append each request to this file as a JSON line (relative to the config file), and read the last `size` back at start, so history survives a restart. null = memory only.",
        ),
      maxFileSize: sizeSchema(
        "16MiB",
        "When the history file passes this size it is renamed to FILE.1 (replacing the older one) and a new one is started.",
      ),
    })
    .prefault({})
    .describe("Recent requests, for the admin API and the dashboard.");
}

/** Slots' KV caches saved across unloads (docs/routing.md). */
function kvCacheSchema() {
  return z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe(
          "Before a model is unloaded (evicted, ttl, admin, reload, shutdown), save its slots' KV caches (the conversations llama-server holds) to disk with llama-server's slot API, and restore one into a free slot when its conversation comes back and reading it is predicted to beat recomputing the prompt. Applies to `model:` entries whose requests are pinned to slots (affinity on). Per model: kvCache: false.",
        ),
      dir: z
        .string()
        .min(1)
        .nullable()
        .default(null)
        .describe(
          "The folder the gateway keeps saved slots in (relative to the config file; made with mode 0700; files not in its index are deleted at start). Default: kv/<hash of the config file's path>/ in the gateway's cache folder ($LLAMAWRAPPER_CACHE, else ~/.cache/llamawrapper). Two gateways must not share one.",
        ),
      maxSize: sizeSchema(
        "4GiB",
        "Disk the saved slots may use together; the least recently used are deleted first.",
      ),
      saveTimeout: durationSchema(
        "5s",
        "How long saving one model's slots may delay its unload (and so a load waiting for its place); slots not saved by then are not.",
        1,
      ),
    })
    .prefault({})
    .describe("Slots' KV caches kept across unloads.");
}

/** The response cache (docs/cache.md). */
function cacheSchema() {
  return z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe(
          "Answer repeated deterministic requests (temperature 0 chat and text completions, embeddings) from the cache; identical ones in flight at once reach llama-server once. Per model: cache: false. Per request: Cache-Control: no-cache / no-store.",
        ),
      maxEntries: z
        .number()
        .int()
        .min(1)
        .default(10000)
        .describe("Most answers kept; the least recently used goes first."),
      maxBytes: sizeSchema(
        "64MiB",
        "Most bytes of answers kept in memory; the least recently used go first.",
      ),
      maxEntrySize: sizeSchema("1MiB", "An answer larger than this is not stored (in memory or in Redis)."),
      ttl: durationSchema("10m", "How long an answer stays in the cache.", 1),
      redis: redisUrlSchema(
        "redis:// URL: answers live in Redis (with ttl, each at most maxEntrySize), shared by every gateway that uses it; maxEntries and maxBytes then do not apply (bound Redis with its own maxmemory). null = in this process. A Redis that is down turns lookups into misses.",
      ),
    })
    .prefault({})
    .describe("The response cache for deterministic requests.");
}

function serverSchema() {
  return z
    .strictObject({
      host: z
        .string()
        .min(1)
        .default("127.0.0.1")
        .describe("Address to listen on. 0.0.0.0 exposes the gateway to the network."),
      port: z
        .number()
        .int()
        .min(0)
        .max(65535)
        .default(8080)
        .describe("TCP port to listen on; 0 picks a free one."),
      bodyLimit: sizeSchema("10MiB", "Largest accepted request body."),
      headersTimeout: durationSchema(
        "20s",
        "Deadline for a client to send its request headers (slowloris guard).",
        1,
      ),
      shutdownTimeout: durationSchema("30s", "How long a graceful shutdown lets in-flight requests finish."),
      upstreamPassthrough: z
        .boolean()
        .default(false)
        .describe(
          "Serve /upstream/{model}/... : any path forwarded to an instance of that model (llama-server's web UI and own endpoints). Admin keys only.",
        ),
      ...serverTrafficFields(),
    })
    .prefault({})
    .describe("The gateway's own HTTP server.");
}

/** The file as written (what config.schema.json describes). */
export type RawConfig = z.input<ReturnType<typeof configSchema>>;
/** After the schema: defaults filled, durations in ms, sizes in bytes; paths still as written. */
export type ParsedConfig = z.output<ReturnType<typeof configSchema>>;
