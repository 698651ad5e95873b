import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_DURATION_MS, parseDuration } from "./duration.js";

test("parseDuration turns valid durations into milliseconds", () => {
  const table: [string | number, number][] = [
    ["500ms", 500],
    ["30s", 30_000],
    ["10m", 600_000],
    ["1h", 3_600_000],
    ["1h30m", 5_400_000],
    ["2d", 172_800_000],
    ["1m30s250ms", 90_250],
    ["1.5s", 1_500],
    ["1.1s", 1_100],
    ["0", 0],
    ["0s", 0],
    [" 20s ", 20_000],
    ["250", 250],
    [250, 250],
    [0, 0],
    [MAX_DURATION_MS, MAX_DURATION_MS],
  ];
  for (const [input, expected] of table) {
    assert.deepEqual(parseDuration(input), { ok: true, value: expected }, `input ${JSON.stringify(input)}`);
  }
});

test("parseDuration rejects malformed, negative, fractional and too-large durations", () => {
  const table: [string | number, RegExp][] = [
    ["", /invalid duration "": use a number with a unit/],
    ["10x", /invalid duration "10x"/],
    ["s", /invalid duration/],
    ["1 h", /invalid duration/],
    ["1H", /invalid duration/],
    ["-5s", /invalid duration/],
    ["1.5", /invalid duration/],
    [-1, /must not be negative/],
    [1.5, /whole milliseconds/],
    [Number.NaN, /must not be negative/],
    ["0.5ms", /whole milliseconds/],
    ["25d", /at most 2147483647 ms/],
    [MAX_DURATION_MS + 1, /at most/],
  ];
  for (const [input, pattern] of table) {
    const result = parseDuration(input);
    assert.equal(result.ok, false, `input ${JSON.stringify(input)} should fail`);
    if (!result.ok) assert.match(result.error, pattern, `input ${JSON.stringify(input)}`);
  }
});
