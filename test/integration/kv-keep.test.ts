import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Json } from "../fixtures/fake/client.js";
import { admin } from "../support/admin-client.js";
import { type TestAssets, testAssets } from "../support/assets.js";
import { chatTurn, opening, type Turn } from "../support/conversation.js";
import { waitFor } from "../support/deadline.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { stopClean } from "../support/stop-clean.js";

const ADMIN = "sk-admin-kv-1";

/** Every file under `dir`, relative to it. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) out.push(relative(dir, join(entry.parentPath, entry.name)));
  return out.sort();
}

/**
 * Slot KV caches kept across unloads on the real llama-server: the gateway saves what the slots
 * hold before it stops a model (here: an admin unload, then a gateway restart), and restores a
 * returning conversation into a slot before forwarding it, so its prompt is not recomputed.
 */
describe("slot KV caches kept across unloads, on the real llama-server", () => {
  let assets: TestAssets;
  let gateway: RunningGateway;
  let kvDir: string;
  let config: Record<string, unknown>;

  before(async () => {
    assets = await testAssets();
    config = {
      llamaServer: { binary: assets.llamaServer },
      auth: { adminKeys: [{ name: "ops", key: ADMIN }] },
      cache: { enabled: false },
      models: { tiny: { model: assets.tinyModel, args: ["-c", "8192", "-np", "2", "--cache-ram", "0"] } },
    };
    gateway = await startGateway(config);
    kvDir = join(gateway.dir, "kv");
  });

  after(async () => {
    await stopClean(gateway);
  });

  const turn = (g: RunningGateway, messages: Json[]): Promise<Turn> => chatTurn(g, ADMIN, "tiny", messages);

  async function unload(): Promise<void> {
    const res = await admin(gateway, "POST", "/admin/models/tiny/unload", { key: ADMIN });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  function indexEntries(): Json[] {
    return (JSON.parse(readFileSync(join(kvDir, "index.json"), "utf8")) as Json).entries as Json[];
  }

  test("an unloaded conversation comes back restored: its prompt is read, not recomputed", async () => {
    const history: Json[] = [{ role: "user", content: opening("a", 400) }];
    const first = await turn(gateway, history);
    assert.match(first.route ?? "", /reason=least-busy/);
    await unload();
    // Saved inside the gateway's folder, under names the gateway chose, private to its user.
    const files = filesUnder(kvDir);
    assert.ok(files.includes("index.json"));
    const saved = files.filter((f) => f.endsWith(".bin"));
    assert.equal(saved.length, 1, files.join(", "));
    assert.match(saved[0] ?? "", /^[0-9a-f]{16}\/[0-9a-f]{24}\.bin$/);
    assert.equal(statSync(kvDir).mode & 0o777, 0o700);
    assert.equal(indexEntries()[0]?.tokens, first.promptTokens + 3, "the slot held the prompt and the reply");
    const status = await admin(gateway, "GET", "/admin/status", { key: ADMIN });
    assert.deepEqual(status.body.kvCache, {
      dir: kvDir,
      files: 1,
      bytes: statSync(join(kvDir, saved[0] ?? "")).size,
      maxBytes: 4 * 1024 ** 3,
    });

    history.push({ role: "assistant", content: first.reply }, { role: "user", content: "and then?" });
    const second = await turn(gateway, history);
    assert.match(second.route ?? "", /^instance=0 slot=\d reason=restored$/);
    assert.ok(
      second.cached >= first.promptTokens,
      `restored: ${second.cached} of ${second.promptTokens} prompt tokens came from the KV cache`,
    );
  });

  test("a corrupt saved file is recomputed, with a log line, and forgotten", async () => {
    const history: Json[] = [{ role: "user", content: opening("b", 400) }];
    const first = await turn(gateway, history);
    await unload();
    // b's first turn is the one saved last (the index also holds a's).
    const entry = indexEntries()
      .filter((e) => e.tokens === first.promptTokens + 3)
      .sort((x, y) => y.usedAt - x.usedAt)[0];
    assert.ok(entry !== undefined, JSON.stringify(indexEntries()));
    writeFileSync(join(kvDir, entry.folder, entry.file), "not a llama.cpp state file");
    history.push({ role: "assistant", content: first.reply }, { role: "user", content: "and then?" });
    const second = await turn(gateway, history);
    assert.match(second.route ?? "", /reason=recomputed$/);
    assert.ok(second.cached < first.promptTokens / 2, `cache_n ${second.cached}`);
    assert.match(await gateway.loggedOutput(), /could not restore a saved slot; recomputing the prompt/);
    assert.equal(
      indexEntries().some((e) => e.file === entry.file),
      false,
    );
  });

  test("slots saved at shutdown are restored by the next gateway with the same config", async () => {
    const history: Json[] = [{ role: "user", content: opening("c", 400) }];
    const first = await turn(gateway, history);
    const dir = gateway.dir;
    await gateway.stop();
    gateway = await startGateway(config, { dir, configFile: join(dir, "config.yaml") });
    history.push({ role: "assistant", content: first.reply }, { role: "user", content: "and then?" });
    const second = await turn(gateway, history);
    assert.match(second.route ?? "", /reason=restored$/);
    assert.ok(second.cached >= first.promptTokens, `cache_n ${second.cached}`);
    await waitFor("the index to keep only files that exist", () =>
      indexEntries().every((e) => filesUnder(kvDir).includes(`${e.folder}/${e.file}`)),
    );
  });
});
