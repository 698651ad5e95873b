import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import * as undici from "undici";
import { Agent, Client, Pool } from "./undici-parts.js";

const ROOT = new URL("../../", import.meta.url);

describe("undici-parts", () => {
  it("is the installed undici, the version package.json pins (its deep paths are not an API)", () => {
    const pinned = (
      JSON.parse(readFileSync(new URL("package.json", ROOT), "utf8")) as {
        dependencies: Record<string, string>;
      }
    ).dependencies.undici;
    const installed = (
      JSON.parse(readFileSync(new URL("node_modules/undici/package.json", ROOT), "utf8")) as {
        version: string;
      }
    ).version;
    assert.equal(
      installed,
      pinned,
      "a new undici: check that lib/dispatcher/*.js and lib/api/index.js still hold these",
    );
  });

  it("gives the same classes as undici's index", () => {
    assert.equal(Agent, undici.Agent);
    assert.equal(Pool, undici.Pool);
    assert.equal(Client, undici.Client);
  });

  it("alone, without undici's index: request() is there and the index is not loaded", () => {
    // A fresh process: this one has loaded the index above, which installs request() itself.
    const script = `
      const { Agent } = await import(${JSON.stringify(new URL("src/util/undici-parts.ts", ROOT).href)});
      const { createRequire } = await import("node:module");
      const cache = createRequire(import.meta.url).cache;
      const agent = new Agent();
      console.log(JSON.stringify({
        request: typeof agent.request,
        stream: typeof agent.stream,
        index: Object.keys(cache).some((path) => /node_modules[\\\\/]undici[\\\\/]index\\.js$/.test(path)),
      }));
      await agent.close();
    `;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: new URL(".", ROOT),
      encoding: "utf8",
    });
    assert.deepEqual(JSON.parse(out), { request: "function", stream: "function", index: false });
  });
});
