import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCli } from "./args.js";

test("--config and the seed's single-dash -config both work, serve is the default command", () => {
  assert.equal(parseCli(["--config", "a.yaml"]).config, "a.yaml");
  assert.equal(parseCli(["-config", "b.yaml"]).config, "b.yaml");
  assert.equal(parseCli(["-config=c.yaml"]).config, "c.yaml");
  assert.equal(parseCli(["-c", "d.yaml"]).command, "serve");
});

test("sub-commands and their options", () => {
  const check = parseCli(["check", "--config", "x.yaml"]);
  assert.deepEqual([check.command, check.config], ["check", "x.yaml"]);
  const tiny = parseCli(["make-tiny-model", "out.gguf", "--seed", "7"]);
  assert.deepEqual([tiny.command, tiny.positionals, tiny.seed], ["make-tiny-model", ["out.gguf"], "7"]);
  assert.equal(parseCli(["setup", "--cuda"]).cuda, true);
});

test("unknown commands and options are usage errors", () => {
  assert.throws(() => parseCli(["serv"]), /unknown command "serv"/);
  assert.throws(() => parseCli(["--confg", "x"]), /Unknown option/);
});
