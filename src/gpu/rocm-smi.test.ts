import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parseRocmSmiJson, ROCM_SMI_ARGS } from "./rocm-smi.js";

// Modelled on rocm-smi's documented --json shape, not captured from hardware (no AMD GPU
// was at hand); replace it with a real capture when one is.
const FIXTURE = new URL("../../test/fixtures/gpu/rocm-smi-two-cards.json", import.meta.url);

describe("rocm-smi --json", () => {
  it("asks for VRAM and use as JSON", () => {
    assert.deepEqual(ROCM_SMI_ARGS, ["--showmeminfo", "vram", "--showuse", "--json"]);
  });

  it("reads each card, computing free from total and used, N/A as null", () => {
    const gpus = parseRocmSmiJson(readFileSync(FIXTURE, "utf8"));
    assert.equal(gpus.length, 2, "the _note entry is not a card");
    assert.deepEqual(gpus[0], {
      index: 0,
      uuid: null,
      name: null,
      busId: null,
      driverVersion: null,
      memoryTotalBytes: 68702699520,
      memoryUsedBytes: 17175674880,
      memoryFreeBytes: 68702699520 - 17175674880,
      utilizationPercent: 37,
      temperatureC: null,
      powerDrawW: null,
      powerLimitW: null,
      processes: [],
    });
    assert.equal(gpus[1]?.index, 1);
    assert.equal(gpus[1]?.memoryTotalBytes, 68702699520);
    assert.equal(gpus[1]?.memoryUsedBytes, null);
    assert.equal(gpus[1]?.memoryFreeBytes, null, "free is unknown when used is");
    assert.equal(gpus[1]?.utilizationPercent, null);
  });

  it("orders cards by number, reads optional keys and skips warnings before the JSON", () => {
    const text = `WARNING: something about the driver\n${JSON.stringify({
      card10: { "VRAM Total Memory (B)": "100", "VRAM Total Used Memory (B)": "40" },
      card2: {
        "VRAM Total Memory (B)": 100,
        "VRAM Total Used Memory (B)": "10",
        "Temperature (Sensor edge) (C)": "41.0",
        "Card Series": "AMD Instinct MI210",
        "Unique ID": "0x1234",
      },
      system: { "Driver version": "6.3" },
    })}`;
    const gpus = parseRocmSmiJson(text);
    assert.deepEqual(
      gpus.map((g) => [g.index, g.memoryFreeBytes]),
      [
        [2, 90],
        [10, 60],
      ],
    );
    assert.equal(gpus[0]?.temperatureC, 41);
    assert.equal(gpus[0]?.name, "AMD Instinct MI210");
    assert.equal(gpus[0]?.uuid, "0x1234");
  });

  it("throws on output that is not a JSON object", () => {
    assert.throws(() => parseRocmSmiJson("ERROR: GPU[0] : Unable to read"), /no JSON object/);
    assert.throws(() => parseRocmSmiJson("{not json}"));
  });
});
