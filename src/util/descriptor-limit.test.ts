import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { connectionsAllowedBy, FALLBACK_CONNECTIONS, readDescriptorLimit } from "./descriptor-limit.js";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max processes             96363                96363                processes
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

test("the soft open-files limit is read from /proc/self/limits' format", () => {
  const dir = mkdtempSync(join(tmpdir(), "llamawrapper-limits-"));
  writeFileSync(join(dir, "limits"), LIMITS);
  assert.equal(readDescriptorLimit(join(dir, "limits")), 1024);
  writeFileSync(
    join(dir, "unlimited"),
    LIMITS.replace("1024                 524288", "unlimited            unlimited"),
  );
  assert.equal(readDescriptorLimit(join(dir, "unlimited")), null);
  assert.equal(readDescriptorLimit(join(dir, "missing")), null, "not Linux");
});

test("this process's own limit is readable on Linux", { skip: process.platform !== "linux" }, () => {
  const limit = readDescriptorLimit();
  assert.ok(limit !== null && limit > 0);
});

test("connections allowed: two descriptors each after a reserve, within 64 and 16384", () => {
  assert.equal(connectionsAllowedBy(1024), 384);
  assert.equal(connectionsAllowedBy(20_000), 9872);
  assert.equal(connectionsAllowedBy(256), 64);
  assert.equal(connectionsAllowedBy(1_048_576), 16_384);
  assert.equal(connectionsAllowedBy(null), FALLBACK_CONNECTIONS);
});
