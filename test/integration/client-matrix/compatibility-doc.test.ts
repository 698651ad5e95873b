import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import {
  clientVersions,
  DOC_PATH,
  FAIL,
  NOT_APPLICABLE,
  PASS,
  parseFeatureTable,
} from "../../support/client-matrix/doc.js";
import { CLIENTS, FEATURES } from "../../support/client-matrix/table.js";
import { ALL_SUITES } from "./suites.js";

/** docs/compatibility.md and the matrix stay in step: same clients, features, versions and cases. */
describe("docs/compatibility.md and the client matrix", () => {
  const doc = readFileSync(DOC_PATH, "utf8");

  test("every client has one suite, and each suite says something about every feature exactly once", () => {
    assert.deepEqual(
      ALL_SUITES.map((s) => s.client),
      CLIENTS.map((c) => c.id),
    );
    for (const suite of ALL_SUITES) {
      for (const { id } of FEATURES) {
        const both = id in suite.cases && id in suite.notApplicable;
        const neither = !(id in suite.cases) && !(id in suite.notApplicable);
        assert.ok(
          !both && !neither,
          `${suite.client} / ${id}: a case or a reason, not ${both ? "both" : "neither"}`,
        );
      }
    }
  });

  test("the feature table has the matrix's clients as columns and its features as rows", () => {
    const { header, rows } = parseFeatureTable(doc);
    assert.deepEqual(header, ["feature", ...CLIENTS.map((c) => c.title)]);
    assert.deepEqual(
      rows.map((r) => r[0]),
      FEATURES.map((f) => f.title),
    );
  });

  test("a cell is a result exactly where the matrix has a case, and n/a where it has none", () => {
    const { rows } = parseFeatureTable(doc);
    FEATURES.forEach((feature, i) => {
      ALL_SUITES.forEach((suite, j) => {
        const cell = rows[i]?.[j + 1];
        const where = `${suite.client} / ${feature.id}`;
        if (feature.id in suite.cases) assert.ok(cell === PASS || cell === FAIL, `${where}: ${cell}`);
        else assert.equal(cell, NOT_APPLICABLE, where);
      });
    });
  });

  test("the versions named are the installed ones (run `npm run compat` after an upgrade)", () => {
    for (const client of CLIENTS.filter((c) => c.id !== "curl")) {
      assert.ok(doc.includes(`| ${client.title} | ${clientVersions(client)} |`), client.title);
    }
  });
});
