// Runs the client matrix (every client's cases against one gateway in front of the real
// llama-server on the tiny model) and writes docs/compatibility.md from the results.
// `npm run compat`; exits 1 when a case failed (the doc is written either way, with the failures).
import { writeFileSync } from "node:fs";
import { ALL_SUITES } from "../test/integration/client-matrix/suites.js";
import { DOC_PATH, renderDoc } from "../test/support/client-matrix/doc.js";
import { runMatrix } from "../test/support/client-matrix/run.js";

const started = Date.now();
const results = await runMatrix(ALL_SUITES, (r) =>
  process.stderr.write(`${r.ok ? "pass" : "FAIL"} ${r.client} ${r.feature}${r.ok ? "" : `: ${r.error}`}\n`),
);
writeFileSync(DOC_PATH, renderDoc(ALL_SUITES, results, new Date().toISOString().slice(0, 10)));
const failed = results.filter((r) => !r.ok).length;
process.stderr.write(
  `${results.length} cases, ${failed} failed, ${Date.now() - started} ms; wrote ${DOC_PATH}\n`,
);
process.exit(failed === 0 ? 0 : 1);
