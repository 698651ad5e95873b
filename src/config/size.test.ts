import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSize } from "./size.js";

test("parseSize turns valid sizes into bytes, IEC as 1024 and SI as 1000", () => {
  const table: [string | number, number][] = [
    ["24GiB", 24 * 2 ** 30],
    ["10MiB", 10 * 2 ** 20],
    ["512KiB", 512 * 1024],
    ["1TiB", 2 ** 40],
    ["1GB", 1_000_000_000],
    ["1.5MB", 1_500_000],
    ["1.1GB", 1_100_000_000],
    ["2kb", 2_000],
    ["10 MiB", 10 * 2 ** 20],
    ["1.5KiB", 1536],
    ["1024", 1024],
    ["1024B", 1024],
    [1024, 1024],
    ["0", 0],
  ];
  for (const [input, expected] of table) {
    assert.deepEqual(parseSize(input), { ok: true, value: expected }, `input ${JSON.stringify(input)}`);
  }
});

test("parseSize rejects unknown units, fractions of a byte and nonsense", () => {
  const table: [string | number, RegExp][] = [
    ["", /invalid size ""/],
    ["10XB", /unknown unit "XB"/],
    ["10M", /unknown unit "M"/],
    ["MiB", /invalid size/],
    ["-1MiB", /invalid size/],
    ["1.5", /whole bytes/],
    [1.5, /whole bytes/],
    [-1, /invalid size/],
    ["99999999TiB", /too large/],
    ["1.0001KiB", /whole bytes/],
  ];
  for (const [input, pattern] of table) {
    const result = parseSize(input);
    assert.equal(result.ok, false, `input ${JSON.stringify(input)} should fail`);
    if (!result.ok) assert.match(result.error, pattern, `input ${JSON.stringify(input)}`);
  }
});
