import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Agent } from "undici";
import { KvFiles } from "./kv-files.js";
import { ModelKv } from "./model-kv.js";

const FOLDER = "00112233445566aa";

/**
 * A stand-in for llama-server's slot API: `save` writes a file of `bytes` into the folder and
 * answers like llama-server; slot 9 never answers (a stuck save); `restore` answers 400 for a
 * file whose content is not "good" (llama-server's answer to a corrupt or missing file).
 */
class SlotApi {
  server!: Server;
  folder = "";
  readonly calls: string[] = [];

  async start(folder: string): Promise<number> {
    this.folder = folder;
    this.server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = "";
    for await (const chunk of req) body += chunk;
    const { filename } = JSON.parse(body) as { filename: string };
    const url = new URL(req.url ?? "/", "http://x");
    const slot = Number(url.pathname.split("/")[2]);
    const action = url.searchParams.get("action");
    this.calls.push(`${action} ${slot} ${req.headers.authorization}`);
    if (slot === 9) return; // never answers
    res.setHeader("content-type", "application/json");
    if (action === "save") {
      const tokens = slot === 8 ? 10 : 2000;
      writeFileSync(join(this.folder, filename), "good");
      res.end(
        JSON.stringify({ id_slot: slot, filename, n_saved: tokens, n_written: 4, timings: { save_ms: 1 } }),
      );
      return;
    }
    let good = false;
    try {
      good = readFileSync(join(this.folder, filename), "utf8") === "good";
    } catch {
      // Missing: as corrupt.
    }
    if (!good) {
      res.statusCode = 400;
      res.end(JSON.stringify({ error: { code: 400, message: "Unable to restore slot" } }));
      return;
    }
    res.end(
      JSON.stringify({ id_slot: slot, filename, n_restored: 2000, n_read: 4, timings: { restore_ms: 1 } }),
    );
  }
}

describe("ModelKv: llama-server's slot API under deadlines", () => {
  const api = new SlotApi();
  let files: KvFiles;
  let port = 0;
  const warnings: string[] = [];
  const log = { info: () => {}, warn: (_: unknown, message: string) => warnings.push(message) };

  before(async () => {
    files = new KvFiles({ dir: mkdtempSync(join(tmpdir(), "kv-")), maxBytes: 1000, warn: () => {} });
    await files.ready;
    port = await api.start(files.folderPath(FOLDER));
  });
  const dispatcher = new Agent();
  after(async () => {
    api.server.closeAllConnections();
    api.server.close();
    await dispatcher.destroy();
  });

  const kv = (saveTimeoutMs = 5_000) =>
    new ModelKv({ files, folder: FOLDER, modelId: "m", saveTimeoutMs, log, dispatcher });
  const endpoint = () => ({ port, apiKey: "child-key" });

  it("saves slots with the child's key, most recent first, skipping nearly empty ones", async () => {
    await kv().saveAll([
      { endpoint: endpoint(), slot: 0, key: "old", lastUsedAt: 1 },
      { endpoint: endpoint(), slot: 8, key: "tiny", lastUsedAt: 3 },
      { endpoint: endpoint(), slot: 1, key: "new", lastUsedAt: 2 },
    ]);
    assert.deepEqual(api.calls.splice(0), [
      "save 8 Bearer child-key",
      "save 1 Bearer child-key",
      "save 0 Bearer child-key",
    ]);
    assert.equal(files.find(FOLDER, ["tiny"]), null, "10 tokens are not worth a file");
    assert.equal(files.find(FOLDER, ["new"])?.tokens, 2000);
    assert.ok(files.find(FOLDER, ["old"]) !== null);
  });

  it("a stuck save ends at the deadline: the unload goes on, nothing half-written is indexed", async () => {
    const keeper = kv(300);
    await keeper.saveAll([
      { endpoint: endpoint(), slot: 9, key: "stuck", lastUsedAt: 2 },
      { endpoint: endpoint(), slot: 2, key: "after", lastUsedAt: 1 },
    ]);
    assert.equal(files.find(FOLDER, ["stuck"]), null);
    assert.equal(files.find(FOLDER, ["after"]), null, "the deadline covers the whole unload");
    api.calls.splice(0);
  });

  it("restores a good file and forgets a bad one with a warning", async () => {
    const keeper = kv();
    const good = files.find(FOLDER, ["new"]);
    assert.ok(good !== null);
    assert.equal(await keeper.restore(endpoint(), 1, good), true);
    const bad = files.find(FOLDER, ["old"]);
    assert.ok(bad !== null);
    writeFileSync(join(api.folder, bad.file), "corrupt");
    assert.equal(await keeper.restore(endpoint(), 0, bad), false);
    assert.equal(files.find(FOLDER, ["old"]), null);
    assert.deepEqual(warnings, ["could not restore a saved slot; recomputing the prompt"]);
    // The good restore read 4 bytes in 1 ms: the estimate moved from 200 MB/s towards that.
    const fresh = kv().restoreMs({ key: "x", tokens: 1, bytes: 1_000_000 });
    assert.equal(fresh, 5 + 1_000_000 / 200_000);
    assert.ok(keeper.restoreMs({ key: "x", tokens: 1, bytes: 1_000_000 }) > fresh);
  });
});
