import type { Dispatcher } from "undici";
import { target } from "../../process/supervisor-types.js";
import type { Endpoint } from "../backend.js";
import type { SavedSlot, SlotContent, SlotKeeper } from "../slot-keeper.js";
import type { KvEntry, KvFiles } from "./kv-files.js";

export interface ModelKvOptions {
  readonly files: KvFiles;
  /** This model's folder name in `files` (a hash of its launch). */
  readonly folder: string;
  readonly modelId: string;
  /** The longest all saves of one unload may take together. */
  readonly saveTimeoutMs: number;
  readonly log: {
    info(fields: Record<string, unknown>, message: string): void;
    warn(fields: Record<string, unknown>, message: string): void;
  };
  /** The shell's upstream pool: it reaches children on Unix sockets as well as on ports. */
  readonly dispatcher: Dispatcher;
}

/** A slot holding fewer tokens than this is not worth a file: recomputing it is as fast. */
export const MIN_SAVED_TOKENS = 64;
/** Until a restore was measured: a conservative local disk read, bytes per ms (200 MB/s). */
const DEFAULT_READ_BYTES_PER_MS = 200_000;
/** A restore's fixed cost besides reading (the request, llama-server's bookkeeping), ms. */
const RESTORE_OVERHEAD_MS = 5;
/** Weight of the newest read-speed sample. */
const READ_EWMA = 0.3;
/** A restore is given this many times its predicted time (and at least RESTORE_MIN_MS). */
const RESTORE_SLACK = 4;
const RESTORE_MIN_MS = 2_000;

type Json = Record<string, unknown>;

/**
 * One model's slot caches on disk through llama-server's slot API (`POST /slots/{id}?action=save
 * |restore`, enabled by the `--slot-save-path` the gateway adds to its children's arguments).
 * File names are the gateway's; llama-server resolves them inside the model's folder.
 */
export class ModelKv implements SlotKeeper {
  readonly #options: ModelKvOptions;
  #readBytesPerMs = DEFAULT_READ_BYTES_PER_MS;

  constructor(options: ModelKvOptions) {
    this.#options = options;
  }

  async saveAll(contents: readonly SlotContent[]): Promise<void> {
    const { files, folder, modelId, saveTimeoutMs, log } = this.#options;
    const started = performance.now();
    const deadline = AbortSignal.timeout(saveTimeoutMs);
    // The start's clean-up deletes what its index does not name: never race it.
    await files.ready;
    const ordered = [...contents].sort((a, b) => b.lastUsedAt - a.lastUsedAt);
    let saved = 0;
    let bytes = 0;
    for (const content of ordered) {
      if (deadline.aborted) break;
      const file = files.newFileName();
      try {
        const answer = await slotAction(
          this.#options.dispatcher,
          content.endpoint,
          content.slot,
          "save",
          file,
          deadline,
        );
        const tokens = num(answer.n_saved);
        const written = num(answer.n_written);
        if (tokens < MIN_SAVED_TOKENS || written <= 0) {
          await files.discard(folder, file);
          continue;
        }
        await files.add({ folder, file, key: content.key, tokens, bytes: written });
        saved++;
        bytes += written;
      } catch (error) {
        await files.discard(folder, file);
        if (deadline.aborted) break;
        log.warn(
          { model: modelId, slot: content.slot, err: String(error) },
          "could not save a slot's KV cache",
        );
      }
    }
    const skipped = ordered.length - saved;
    if (ordered.length > 0)
      log.info(
        {
          model: modelId,
          saved,
          skipped,
          bytes,
          ms: Math.round(performance.now() - started),
          timedOut: deadline.aborted,
        },
        "saved slot KV caches before the unload",
      );
  }

  find(keys: readonly string[]): SavedSlot | null {
    return this.#options.files.find(this.#options.folder, keys);
  }

  restoreMs(saved: SavedSlot): number {
    return RESTORE_OVERHEAD_MS + saved.bytes / this.#readBytesPerMs;
  }

  async restore(endpoint: Endpoint, slot: number, saved: SavedSlot): Promise<boolean> {
    const { files, modelId, log } = this.#options;
    const entry = saved as KvEntry;
    const budget = Math.max(RESTORE_MIN_MS, RESTORE_SLACK * this.restoreMs(saved));
    const started = performance.now();
    try {
      const answer = await slotAction(
        this.#options.dispatcher,
        endpoint,
        slot,
        "restore",
        entry.file,
        AbortSignal.timeout(budget),
      );
      const read = num(answer.n_read);
      const ms = num((answer.timings as Json | undefined)?.restore_ms) || performance.now() - started;
      if (read > 0 && ms > 0) this.#readBytesPerMs += READ_EWMA * (read / ms - this.#readBytesPerMs);
      files.touch(entry);
      return true;
    } catch (error) {
      // A missing or corrupt file: llama-server answers 400 and leaves the slot empty.
      log.warn(
        { model: modelId, slot, file: entry.file, err: String(error) },
        "could not restore a saved slot; recomputing the prompt",
      );
      await files.remove(entry);
      return false;
    }
  }
}

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

/** One call of llama-server's slot API; rejects on a non-200 answer with its message. */
async function slotAction(
  dispatcher: Dispatcher,
  endpoint: Endpoint,
  slot: number,
  action: "save" | "restore",
  filename: string,
  signal: AbortSignal,
): Promise<Json> {
  const res = await dispatcher.request({
    ...target(endpoint, `/slots/${slot}?action=${action}`),
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${endpoint.apiKey}` },
    body: JSON.stringify({ filename }),
    signal,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200)
    throw new Error(`llama-server answered ${res.statusCode} to ${action}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Json;
}
