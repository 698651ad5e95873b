import { z } from "zod";
import { parseDuration } from "./duration.js";
import type { ParseResult } from "./parse-result.js";
import { parseSize } from "./size.js";

interface Unit {
  readonly kind: string;
  readonly base: string;
  readonly parse: (input: string | number) => ParseResult;
  readonly forms: string;
}

const DURATION: Unit = {
  kind: "duration",
  base: "ms",
  parse: parseDuration,
  forms: 'A duration: "500ms", "30s", "10m", "1h30m", or a number of milliseconds.',
};

const SIZE: Unit = {
  kind: "size",
  base: "bytes",
  parse: parseSize,
  forms: 'A size: "512KiB", "10MiB", "1GB" (SI), or a number of bytes.',
};

/** A string or number in YAML, parsed to a number of base units of at least `min`. */
function parsedUnit(unit: Unit, min: number) {
  return z
    .union([z.string(), z.number()], { error: `expected a ${unit.kind} (string or number)` })
    .transform((input, ctx) => {
      const parsed = unit.parse(input);
      if (!parsed.ok) ctx.issues.push({ code: "custom", message: parsed.error, input });
      else if (parsed.value < min) {
        ctx.issues.push({ code: "custom", message: `must be at least ${min} ${unit.base}`, input });
      } else return parsed.value;
      return z.NEVER;
    });
}

/**
 * A string or number in YAML, a number of base units after parsing. The JSON schema is
 * generated from the input side (io: "input"), so editors see string | number and the
 * default as the user would write it; `prefault` (not `default`) makes zod parse that default.
 */
function unitValue(unit: Unit, fallback: string, min: number, description: string) {
  return parsedUnit(unit, min)
    .prefault(fallback)
    .describe(`${description} ${unit.forms} Default ${fallback}.`);
}

/** A duration field, parsed to milliseconds. */
export function durationSchema(fallback: string, description: string, minMs = 0) {
  return unitValue(DURATION, fallback, minMs, description);
}

/** A size field, parsed to bytes; at least 1. */
export function sizeSchema(fallback: string, description: string) {
  return unitValue(SIZE, fallback, 1, description);
}

/** An optional unit field: absent or null stays null ("not set"), anything else is parsed. */
function optionalUnitValue(unit: Unit, min: number, description: string) {
  return parsedUnit(unit, min)
    .nullable()
    .default(null)
    .describe(`${description} ${unit.forms} Default: not set.`);
}

/** An optional duration in milliseconds (null when not set). */
export function optionalDurationSchema(description: string, minMs = 1) {
  return optionalUnitValue(DURATION, minMs, description);
}

/** An optional size in bytes (null when not set). */
export function optionalSizeSchema(description: string) {
  return optionalUnitValue(SIZE, 1, description);
}

/**
 * A duration that a model may set to override a default: absent stays undefined (inherit),
 * null turns it off, anything else is parsed to milliseconds.
 */
export function overrideDurationSchema(description: string, minMs = 1) {
  return parsedUnit(DURATION, minMs)
    .nullable()
    .optional()
    .describe(`${description} ${DURATION.forms} Default: the top-level value.`);
}

/** A redis:// (or rediss://) URL, or null: in this process. */
export function redisUrlSchema(description: string) {
  return z
    .string()
    .regex(/^rediss?:\/\//, "a redis:// or rediss:// URL")
    .nullable()
    .default(null)
    .describe(description);
}
