import type { ProfileResult } from "../profile/run-profile.js";
import type { S1Result } from "../scenarios/s1-fixed-rate.js";
import type { S2Result } from "../scenarios/s2-throughput.js";
import type { S3Result } from "../scenarios/s3-streaming.js";
import type { S4Result } from "../scenarios/s4-many-streams.js";
import type { S5Result } from "../scenarios/s5-cache.js";
import type { S6Result } from "../scenarios/s6-cold-start.js";
import type { S8Result } from "../scenarios/s8-metrics-cost.js";
import type { S9Result } from "../scenarios/s9-affinity.js";
import type { S10Result } from "../scenarios/s10-swaps.js";
import type { S11Result } from "../scenarios/s11-kv-restore.js";
import type { Machine } from "./machine.js";

/** Scenario 7: the gateway's own memory when nothing runs, in bytes. */
export interface IdleMemory {
  /** Right after it printed "listening", no model started yet. */
  readonly atStart: number;
  /** After the warm-up: every model's child started, pools and JIT warm. */
  readonly afterWarmup: number;
  /** A few seconds after scenario 4 ended: does memory come back? */
  readonly afterS4: number | null;
}

/** Everything one run measured: written to results.json and rendered into BENCHMARKS.md. */
export interface BenchResults {
  readonly machine: Machine;
  readonly quick: boolean;
  readonly only: readonly string[];
  readonly command: string;
  readonly seconds: number;
  /** 1-minute load average when the run ended (the machine's at the start is in `machine`). */
  readonly loadAtEnd: number;
  /** Things the run could not do or that the reader must know (skips, fallbacks). */
  readonly notes: readonly string[];
  readonly gatewayStartupMs: number | null;
  readonly idle: IdleMemory | null;
  readonly s1: S1Result | null;
  readonly s2: S2Result | null;
  readonly s3: S3Result | null;
  readonly s4: S4Result | null;
  /** Absent from a results.json written before scenario 5 existed. */
  readonly s5?: S5Result | null;
  readonly s6: S6Result | null;
  /** Absent from a results.json written before scenario 8 existed. */
  readonly s8?: S8Result | null;
  /** Absent from a results.json written before scenario 9 existed. */
  readonly s9?: S9Result | null;
  /** Absent from a results.json written before scenario 10 existed. */
  readonly s10?: S10Result | null;
  /** Absent from a results.json written before scenario 11 existed. */
  readonly s11?: S11Result | null;
  readonly profile: ProfileResult | null;
}
