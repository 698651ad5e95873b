/** One process holding memory on a GPU (nvidia-smi --query-compute-apps). */
export interface GpuProcess {
  readonly pid: number;
  readonly name: string | null;
  /** Null where the driver does not say (e.g. inside some containers or without permission). */
  readonly usedMemoryBytes: number | null;
}

/**
 * One GPU as the vendor tool reports it. Every reading may be null: tools print N/A or
 * "[Not Supported]" for fields a card, driver or container does not expose, and a caller
 * must treat "unknown" differently from zero.
 */
export interface Gpu {
  readonly index: number;
  readonly uuid: string | null;
  readonly name: string | null;
  readonly busId: string | null;
  readonly driverVersion: string | null;
  readonly memoryTotalBytes: number | null;
  readonly memoryUsedBytes: number | null;
  /**
   * What the driver says is free. On NVIDIA this is less than total minus used: the driver
   * keeps a reserve (616 MiB on an H200 with driver 580) that counts as neither.
   */
  readonly memoryFreeBytes: number | null;
  readonly utilizationPercent: number | null;
  readonly temperatureC: number | null;
  readonly powerDrawW: number | null;
  readonly powerLimitW: number | null;
  readonly processes: readonly GpuProcess[];
}

export type GpuSource = "nvidia-smi" | "rocm-smi";

/** One reading of the machine's GPUs; `reason` says why `gpus` is empty or incomplete. */
export interface GpuReport {
  readonly gpus: readonly Gpu[];
  readonly source: GpuSource | null;
  readonly reason?: string;
  /** When the reading was taken, by the clock the reader was given (ms). */
  readonly readAt: number;
}
