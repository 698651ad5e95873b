import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatProblems } from "../config/format-problems.js";
import { parseConfig } from "../config/load.js";
import type { GatewayConfig } from "../config/types.js";
import { planReload, type ReloadPlan } from "./plan-reload.js";

function config(yaml: string): GatewayConfig {
  const result = parseConfig(yaml, { baseDir: "/srv/llw", env: {}, source: null, checkFiles: false });
  if (!result.ok) assert.fail(`invalid test config:\n${formatProblems(result.problems)}`);
  return result.config;
}

/** The config every case starts from: `a` with args, `b` plain. */
const BASE = `
models:
  a:
    model: a.gguf
    args: ["-c", "4096"]
    aliases: [alpha]
  b:
    model: b.gguf
`;

const BINARY = "/opt/llama/llama-server";

interface Case {
  readonly name: string;
  readonly next: string;
  readonly nextBinary?: string;
  readonly expect: Partial<ReloadPlan>;
}

const NONE: ReloadPlan = {
  added: [],
  removed: [],
  replaced: [],
  reconfigured: [],
  unchanged: [],
  sections: [],
};

const cases: Case[] = [
  { name: "the same config: everything unchanged", next: BASE, expect: { unchanged: ["a", "b"] } },
  {
    name: "a model added",
    next: `${BASE}  c:\n    model: c.gguf\n`,
    expect: { added: ["c"], unchanged: ["a", "b"] },
  },
  {
    name: "a model removed",
    next: "models:\n  b:\n    model: b.gguf\n",
    expect: { removed: ["a"], unchanged: ["b"] },
  },
  {
    name: "args changed: replaced",
    next: BASE.replace('"4096"', '"8192"'),
    expect: { replaced: ["a"], unchanged: ["b"] },
  },
  {
    name: "the model file changed: replaced",
    next: BASE.replace("a.gguf", "a-q8.gguf"),
    expect: { replaced: ["a"], unchanged: ["b"] },
  },
  {
    name: "env changed: replaced",
    next: `${BASE}    env: { CUDA_VISIBLE_DEVICES: "1" }\n`,
    expect: { replaced: ["b"], unchanged: ["a"] },
  },
  {
    name: "instances changed: replaced",
    next: `${BASE}    instances: 2\n`,
    expect: { replaced: ["b"], unchanged: ["a"] },
  },
  {
    name: "startup timeout changed: replaced (the supervisors are built with it)",
    next: `${BASE}    startupTimeout: 30s\n`,
    expect: { replaced: ["b"], unchanged: ["a"] },
  },
  {
    name: "model form → cmd form: replaced",
    next: BASE.replace("model: b.gguf", 'cmd: [/bin/server, --port, "${PORT}"]'),
    expect: { replaced: ["b"], unchanged: ["a"] },
  },
  {
    name: "the llama-server binary changed: every model form entry replaced",
    next: BASE,
    nextBinary: "/opt/llama-new/llama-server",
    expect: { replaced: ["a", "b"] },
  },
  {
    name: "aliases changed: reconfigured, same children",
    next: BASE.replace("[alpha]", "[alpha, first]"),
    expect: { reconfigured: ["a"], unchanged: ["b"] },
  },
  {
    name: "maxQueue changed: reconfigured",
    next: `${BASE}    maxQueue: 3\n`,
    expect: { reconfigured: ["b"], unchanged: ["a"] },
  },
  {
    name: "ttl changed: reconfigured",
    next: `${BASE}    ttl: 10m\n`,
    expect: { reconfigured: ["b"], unchanged: ["a"] },
  },
  {
    name: "pinned and maxConcurrent changed: reconfigured",
    next: `${BASE}    pinned: true\n    maxConcurrent: 4\n`,
    expect: { reconfigured: ["b"], unchanged: ["a"] },
  },
  {
    name: "a top-level section changed: listed in sections, models unchanged",
    next: `server:\n  port: 9090\n${BASE}`,
    expect: { unchanged: ["a", "b"], sections: ["server"] },
  },
  {
    name: "the scheduler's queue default changed: every model that inherits it (resolved into models)",
    next: `scheduler:\n  maxQueue: 7\n${BASE}`,
    expect: { reconfigured: ["a", "b"] },
  },
  {
    name: "maxLoadedModels changed: the scheduler section",
    next: `scheduler:\n  maxLoadedModels: 5\n${BASE}`,
    expect: { unchanged: ["a", "b"], sections: ["scheduler"] },
  },
  {
    name: "several sections and models at once",
    next: `logging:\n  level: debug\ndefaultModel: b\nmodels:\n  b:\n    model: b.gguf\n    ttl: 5m\n  c:\n    model: c.gguf\n`,
    expect: { added: ["c"], removed: ["a"], reconfigured: ["b"], sections: ["logging", "defaultModel"] },
  },
];

describe("planReload", () => {
  for (const c of cases) {
    it(c.name, () => {
      const plan = planReload(
        { config: config(BASE), binary: BINARY },
        { config: config(c.next), binary: c.nextBinary ?? BINARY },
      );
      assert.deepEqual(plan, { ...NONE, ...c.expect });
    });
  }

  it("a cmd form entry does not depend on the binary", () => {
    const yaml = 'models:\n  a:\n    cmd: [/bin/server, --port, "${PORT}"]\n';
    const plan = planReload(
      { config: config(yaml), binary: BINARY },
      { config: config(yaml), binary: "/other" },
    );
    assert.deepEqual(plan, { ...NONE, unchanged: ["a"] });
  });
});
