import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "yaml";
import { formatProblems } from "./format-problems.js";
import { configJsonSchema } from "./json-schema.js";
import { parseConfig } from "./load.js";

const root = new URL("../../", import.meta.url);
const readRoot = (name: string) => readFileSync(new URL(name, root), "utf8");

interface JsonSchemaNode {
  description?: string;
  properties?: Record<string, JsonSchemaNode>;
  additionalProperties?: JsonSchemaNode | boolean;
  items?: JsonSchemaNode;
}

test("config.schema.json on disk is the generated schema (run `npm run schema` after changing it)", () => {
  assert.equal(readRoot("config.schema.json"), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
});

test("every key in the JSON schema has a description", () => {
  const undocumented: string[] = [];
  const visit = (node: JsonSchemaNode, path: string) => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      if (typeof child.description !== "string" || child.description === "")
        undocumented.push(`${path}${key}`);
      visit(child, `${path}${key}.`);
    }
    if (typeof node.additionalProperties === "object") visit(node.additionalProperties, `${path}*.`);
  };
  visit(configJsonSchema() as JsonSchemaNode, "");
  assert.deepEqual(undocumented, []);
});

test("config.example.yaml is valid and sets every key the schema knows", () => {
  const text = readRoot("config.example.yaml");
  assert.match(text, /^# yaml-language-server: \$schema=\.\/config\.schema\.json\n/);
  // The one variable the example names with keyEnv (the ${env:...} ones have defaults).
  const env = { GPU_BOX_2_KEY: "example" };
  const result = parseConfig(text, { baseDir: "/example", env, source: null, checkFiles: false });
  if (!result.ok) assert.fail(formatProblems(result.problems));

  const example = parse(text) as Record<string, Record<string, unknown>>;
  const schema = configJsonSchema() as JsonSchemaNode;
  const missing: string[] = [];
  for (const [section, node] of Object.entries(schema.properties ?? {})) {
    if (!(section in example)) missing.push(section);
    else if (section === "models") {
      // Across its models the example shows each model key at least once.
      const entry = node.additionalProperties as JsonSchemaNode;
      const shown = new Set(Object.values(example.models ?? {}).flatMap((m) => Object.keys(m as object)));
      for (const key of Object.keys(entry.properties ?? {}))
        if (!shown.has(key)) missing.push(`models.*.${key}`);
    } else {
      for (const key of Object.keys(node.properties ?? {})) {
        if (!(key in (example[section] ?? {}))) missing.push(`${section}.${key}`);
      }
    }
  }
  assert.deepEqual(missing, []);
});
