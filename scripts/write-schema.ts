// Writes config.schema.json at the repository root from the zod schema in src/config, so
// editors can validate config files. Run with `npm run schema` after changing the schema;
// src/config/json-schema.test.ts fails while the file on disk is stale.
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configJsonSchema } from "../src/config/json-schema.js";

const target = fileURLToPath(new URL("../config.schema.json", import.meta.url));
writeFileSync(target, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target}`);
