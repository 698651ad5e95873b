import { cpus, freemem, loadavg, totalmem } from "node:os";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { GpuReport } from "../gpu/gpu-types.js";

export interface MachineSnapshot {
  readonly at: number;
  readonly cpu: { readonly cores: number; readonly load1: number; readonly processPercent: number };
  readonly memory: {
    readonly totalBytes: number;
    readonly freeBytes: number;
    readonly processRssBytes: number;
  };
  readonly eventLoopLagMs: number;
  readonly gpus: ReadonlyArray<{
    readonly index: number;
    readonly name: string | null;
    readonly utilizationPercent: number | null;
    readonly memoryUsedBytes: number | null;
    readonly memoryTotalBytes: number | null;
  }>;
}

/**
 * The machine as the dashboard shows it: CPU (load and this process' share since the last
 * reading), memory, the event loop's lag (p99 since the last reading) and the GPUs (from the
 * cached GPU reader). The delay monitor runs only while a dashboard is watching.
 */
export class MachineReader {
  readonly #gpu: () => Promise<GpuReport>;
  #lastCpu = process.cpuUsage();
  #lastAt = performance.now();
  #delay: ReturnType<typeof monitorEventLoopDelay> | null = null;
  #watchers = 0;

  constructor(gpu: () => Promise<GpuReport>) {
    this.#gpu = gpu;
  }

  /** Starts the event-loop delay monitor (shared by every viewer); returns this viewer's stop. */
  watch(): () => void {
    this.#watchers++;
    if (this.#delay === null) {
      this.#delay = monitorEventLoopDelay({ resolution: 20 });
      this.#delay.enable();
    }
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      if (--this.#watchers > 0) return;
      this.#delay?.disable();
      this.#delay = null;
    };
  }

  async read(): Promise<MachineSnapshot> {
    const now = performance.now();
    const cpu = process.cpuUsage(this.#lastCpu);
    const elapsedUs = Math.max(1, (now - this.#lastAt) * 1000);
    this.#lastCpu = process.cpuUsage();
    this.#lastAt = now;
    const lag = this.#delay === null ? 0 : this.#delay.percentile(99) / 1e6;
    this.#delay?.reset();
    const report = await this.#gpu().catch(() => null);
    return {
      at: Date.now(),
      cpu: {
        cores: cpus().length,
        load1: loadavg()[0] ?? 0,
        processPercent: ((cpu.user + cpu.system) / elapsedUs) * 100,
      },
      memory: { totalBytes: totalmem(), freeBytes: freemem(), processRssBytes: process.memoryUsage.rss() },
      eventLoopLagMs: Math.round(lag * 100) / 100,
      gpus: (report?.gpus ?? []).map((gpu) => ({
        index: gpu.index,
        name: gpu.name,
        utilizationPercent: gpu.utilizationPercent,
        memoryUsedBytes: gpu.memoryUsedBytes,
        memoryTotalBytes: gpu.memoryTotalBytes,
      })),
    };
  }
}
