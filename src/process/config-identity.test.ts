import assert from "node:assert/strict";
import { copyFile, link, mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, before, test } from "node:test";
import { type ConfigIdentity, readConfigIdentity, sameConfig } from "./config-identity.js";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "config-identity-"));
});
after(() => rm(dir, { recursive: true, force: true }));

async function identity(path: string): Promise<ConfigIdentity> {
  const id = await readConfigIdentity(path);
  assert.ok(id !== null, `no identity for ${path}`);
  return id;
}

test("every path to one file names the same config; a copy is another config", async () => {
  const file = join(dir, "a", "config.yaml");
  await mkdir(join(dir, "a"));
  await mkdir(join(dir, "b"));
  await writeFile(file, "models: {}\n");
  await symlink(file, join(dir, "b", "link.yaml"));
  await link(file, join(dir, "b", "hard.yaml"));
  await copyFile(file, join(dir, "b", "copy.yaml"));
  const original = await identity(file);
  const cases: [what: string, path: string, same: boolean][] = [
    ["a symlink in another folder", join(dir, "b", "link.yaml"), true],
    ["a hard link", join(dir, "b", "hard.yaml"), true],
    ["a path with ..", join(dir, "b", "..", "a", "config.yaml"), true],
    ["a path relative to the working directory", relative(process.cwd(), file), true],
    ["a copy", join(dir, "b", "copy.yaml"), false],
  ];
  for (const [what, path, same] of cases) {
    assert.equal(sameConfig(original, await identity(path)), same, what);
  }
});

test("a file an editor replaced (new inode, same path) is still the same config", async () => {
  const file = join(dir, "edited.yaml");
  await writeFile(file, "models: {}\n");
  const before = await identity(file);
  await writeFile(`${file}.tmp`, "models: {}\n# edited\n");
  await rename(`${file}.tmp`, file);
  const after = await identity(file);
  assert.notEqual(after.fileId, before.fileId);
  assert.ok(sameConfig(before, after));
});

test("no identity for a missing file, and none is ever the same as another", async () => {
  assert.equal(await readConfigIdentity(join(dir, "absent.yaml")), null);
  const some = { path: "/x", fileId: "1:1" };
  assert.equal(sameConfig(null, some), false);
  assert.equal(sameConfig(some, null), false);
  assert.equal(sameConfig(null, null), false);
});
