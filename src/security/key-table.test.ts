import assert from "node:assert/strict";
import { test } from "node:test";
import type { AuthConfig, RateLimits } from "../config/security-types.js";
import { keyAccess } from "./access.js";
import { constantTimeEqual, digestKey } from "./key-digest.js";
import { KeyTable } from "./key-table.js";

const DEFAULTS: RateLimits = { requestsPerMinute: 60, tokensPerMinute: null, burst: 20 };
const ADMIN_LIMITS: RateLimits = { requestsPerMinute: null, tokensPerMinute: null, burst: 20 };

const AUTH: AuthConfig = {
  apiKeys: [
    {
      name: "apiKeys[0]",
      secret: { kind: "inline", key: "sk-plain" },
      models: null,
      routes: null,
      rateLimit: DEFAULTS,
    },
    {
      name: "alice",
      secret: { kind: "inline", key: "sk-alice" },
      models: ["small", "gpt-*"],
      routes: ["/v1/chat/*", "/v1/models"],
      rateLimit: { requestsPerMinute: 5, tokensPerMinute: 1_000, burst: 2 },
    },
    {
      name: "bob",
      secret: { kind: "file", path: "/keys/bob" },
      models: null,
      routes: null,
      rateLimit: DEFAULTS,
    },
  ],
  adminKeys: [{ name: "ops", secret: { kind: "inline", key: "sk-admin" } }],
  publicMetrics: false,
};

function table(compare?: (a: Buffer, b: Buffer) => boolean): KeyTable {
  return KeyTable.fromConfig(AUTH, ADMIN_LIMITS, {
    readKeyFile: (path) => {
      assert.equal(path, "/keys/bob");
      return "sk-bob-from-file";
    },
    ...(compare === undefined ? {} : { compare }),
  });
}

test("identify finds each kind of key: plain, named, from a key file, admin", () => {
  const keys = table();
  assert.equal(keys.isEmpty, false);
  assert.equal(keys.identify("sk-plain")?.name, "apiKeys[0]");
  assert.equal(keys.identify("sk-alice")?.name, "alice");
  assert.equal(keys.identify("sk-bob-from-file")?.name, "bob");
  assert.equal(keys.identify("sk-admin")?.kind, "admin");
  assert.equal(keys.identify("sk-alice")?.kind, "user");
  assert.deepEqual(keys.identify("sk-alice")?.limits, {
    requestsPerMinute: 5,
    tokensPerMinute: 1_000,
    burst: 2,
  });
  assert.deepEqual(keys.identify("sk-admin")?.limits, ADMIN_LIMITS);
});

test("wrong, missing, empty and near-miss keys match nothing", () => {
  const keys = table();
  for (const presented of [null, "", "sk-alic", "sk-alicex", "SK-ALICE", " sk-alice", "/keys/bob"]) {
    assert.equal(keys.identify(presented), null, String(presented));
  }
});

test("every entry is compared, whichever key matched and whether one did (constant work)", () => {
  let calls = 0;
  const keys = table((a, b) => {
    calls++;
    return constantTimeEqual(a, b);
  });
  for (const presented of ["sk-plain", "sk-admin", "wrong", null]) {
    calls = 0;
    keys.identify(presented);
    assert.equal(calls, 4, `${String(presented)}: all 4 entries compared`);
  }
});

test("the table holds digests of equal length, never the keys", () => {
  const keys = table();
  const entry = keys.identify("sk-alice");
  assert.ok(entry);
  assert.equal(entry.digest.length, 32);
  assert.deepEqual(entry.digest, digestKey("sk-alice"));
  assert.ok(!JSON.stringify(entry).includes("sk-alice"));
  assert.equal(constantTimeEqual(digestKey("a"), digestKey("a")), true);
  assert.equal(constantTimeEqual(digestKey("a"), digestKey("b")), false);
  assert.equal(constantTimeEqual(Buffer.alloc(1), Buffer.alloc(2)), false);
});

test("route scopes: paths and globs; no scope allows every route", () => {
  const keys = table();
  const alice = keys.identify("sk-alice");
  assert.ok(alice);
  assert.equal(alice.allowsRoute("/v1/chat/completions"), true);
  assert.equal(alice.allowsRoute("/v1/models"), true);
  assert.equal(alice.allowsRoute("/v1/models/small"), false, "an exact path is not a prefix");
  assert.equal(alice.allowsRoute("/v1/completions"), false);
  assert.equal(alice.allowsRoute("/v1/embeddings"), false);
  assert.equal(keys.identify("sk-plain")?.allowsRoute("/v1/embeddings"), true);
});

test("model scopes: ids, aliases and globs; a model passes when any of its names is in scope", () => {
  const alice = keyAccess(table().identify("sk-alice") ?? assert.fail("alice"));
  const model = (id: string, aliases: string[] = [], unlistedAliases: string[] = []) => ({
    id,
    aliases,
    unlistedAliases,
  });
  assert.equal(alice.mayUse(model("small")), true);
  assert.equal(alice.mayUse(model("qwen-7b", ["gpt-4o-mini"])), true, "alias by glob");
  assert.equal(alice.mayUse(model("qwen-7b", [], ["gpt-hidden"])), true, "unlisted alias");
  // Out of scope is a plain "no": routes turn it into the unknown model's 404, never a 403.
  assert.equal(alice.mayUse(model("big", ["large"])), false);
  const plain = keyAccess(table().identify("sk-plain") ?? assert.fail("plain"));
  assert.equal(plain.mayUse(model("big")), true);
  assert.equal(plain.keyName, "apiKeys[0]");
});

test("no keys configured: the table is empty (the gateway is open) and identifies nobody", () => {
  const keys = KeyTable.fromConfig({ apiKeys: [], adminKeys: [], publicMetrics: false }, ADMIN_LIMITS);
  assert.equal(keys.isEmpty, true);
  assert.equal(keys.identify("anything"), null);
});
