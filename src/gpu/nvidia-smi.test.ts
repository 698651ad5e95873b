import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  attachProcesses,
  nvidiaAppQueryArgs,
  nvidiaGpuQueryArgs,
  parseNvidiaAppsCsv,
  parseNvidiaGpuCsv,
} from "./nvidia-smi.js";
import { readMemoryBytes, readNumber, readText } from "./reading.js";

const MIB = 2 ** 20;
const FIELDS = ["index", "uuid", "name", "memory.total", "memory.used", "memory.free", "power.draw"];

describe("reading one value", () => {
  it("treats every placeholder nvidia-smi and rocm-smi print as unknown, not zero", () => {
    for (const cell of [
      "[N/A]",
      "N/A",
      "[Not Supported]",
      "[Unknown Error]",
      "[Insufficient Permissions]",
      "",
    ]) {
      assert.equal(readNumber(cell), null, cell);
      assert.equal(readText(cell), null, cell);
      assert.equal(readMemoryBytes(cell, "MiB"), null, cell);
    }
    assert.equal(readNumber(undefined), null);
    assert.equal(readNumber("0"), 0);
  });

  it("reads numbers with or without the unit nvidia-smi prints after them", () => {
    assert.equal(readNumber(" 45 %"), 45);
    assert.equal(readNumber("123.05 W"), 123.05);
    assert.equal(readNumber("35 C"), 35);
    assert.equal(readNumber("-8 C"), -8);
    assert.equal(readNumber("P0"), null);
    assert.equal(readMemoryBytes("80 MiB", "B"), 80 * MIB, "the printed unit wins");
    assert.equal(readMemoryBytes("80", "MiB"), 80 * MIB);
    assert.equal(readMemoryBytes("2 GiB", "MiB"), 2 * 2 ** 30);
    assert.equal(readMemoryBytes("80 MB", "MiB"), null, "an unknown unit is not guessed");
  });
});

describe("nvidia-smi --query-gpu CSV", () => {
  it("asks for CSV without header or units", () => {
    assert.deepEqual(nvidiaGpuQueryArgs(["index", "memory.free"]), [
      "--query-gpu=index,memory.free",
      "--format=csv,noheader,nounits",
    ]);
    assert.deepEqual(nvidiaAppQueryArgs(), [
      "--query-compute-apps=gpu_uuid,pid,process_name,used_memory",
      "--format=csv,noheader,nounits",
    ]);
  });

  it("reads several GPUs, with placeholders as null", () => {
    const text = [
      "0, GPU-a, NVIDIA A40, 46068, 1, 45557, 23.50",
      "1, GPU-b, NVIDIA A40, [N/A], [Unknown Error], [Not Supported], [N/A]",
      "",
    ].join("\r\n");
    const gpus = parseNvidiaGpuCsv(text, FIELDS);
    assert.equal(gpus.length, 2);
    assert.equal(gpus[0]?.memoryFreeBytes, 45557 * MIB);
    assert.equal(gpus[0]?.powerDrawW, 23.5);
    assert.equal(gpus[1]?.index, 1);
    assert.equal(gpus[1]?.uuid, "GPU-b");
    assert.equal(gpus[1]?.memoryTotalBytes, null);
    assert.equal(gpus[1]?.memoryUsedBytes, null);
    assert.equal(gpus[1]?.memoryFreeBytes, null);
    assert.equal(gpus[1]?.powerDrawW, null);
    assert.equal(gpus[1]?.temperatureC, null, "not queried");
  });

  it("maps columns by the header, so their order does not matter", () => {
    const text = [
      "memory.free [MiB], name, utilization.gpu [%], index, memory.total [MiB], power.draw [W]",
      "100 MiB, Card B, 45 %, 1, 200 MiB, [N/A]",
    ].join("\n");
    const [gpu] = parseNvidiaGpuCsv(text, FIELDS);
    assert.equal(gpu?.index, 1);
    assert.equal(gpu?.name, "Card B");
    assert.equal(gpu?.memoryFreeBytes, 100 * MIB);
    assert.equal(gpu?.memoryTotalBytes, 200 * MIB);
    assert.equal(gpu?.utilizationPercent, 45);
    assert.equal(gpu?.powerDrawW, null);
  });

  it("reads a header whose values carry no units (--format=csv,nounits)", () => {
    const [gpu] = parseNvidiaGpuCsv("index, memory.free [MiB]\n3, 512\n", FIELDS);
    assert.equal(gpu?.index, 3);
    assert.equal(gpu?.memoryFreeBytes, 512 * MIB);
  });

  it("does not take a data row that looks like names for a header", () => {
    const gpus = parseNvidiaGpuCsv("P0\nP8\n", ["pstate"]);
    assert.equal(gpus.length, 2);
    assert.deepEqual(
      gpus.map((g) => g.index),
      [0, 1],
      "without an index column the position is the index",
    );
  });

  it("keeps a comma in a GPU name and drops a row cut short", () => {
    const gpus = parseNvidiaGpuCsv("0, GPU-a, Odd, Name, 10, 1, 9, 5\n1, GPU-b\n", FIELDS);
    assert.equal(gpus.length, 1);
    assert.equal(gpus[0]?.name, "Odd, Name");
    assert.equal(gpus[0]?.memoryFreeBytes, 9 * MIB);
  });

  it("reads nothing from empty output", () => {
    assert.deepEqual(parseNvidiaGpuCsv(""), []);
  });
});

describe("nvidia-smi --query-compute-apps CSV", () => {
  it("reads processes, keeping commas in names, and attaches them to GPUs by uuid", () => {
    const text = [
      "GPU-a, 4242, /opt/llama/llama-server, 20480",
      "GPU-b, 77, python3 train.py --tags a,b, [N/A]",
      "GPU-x, 1, ghost, 5",
      "GPU-a, not-a-pid, broken, 5",
    ].join("\n");
    const apps = parseNvidiaAppsCsv(text);
    assert.equal(apps.length, 3);
    const gpus = attachProcesses(
      parseNvidiaGpuCsv("0, GPU-a\n1, GPU-b\n2, [N/A]\n", ["index", "uuid"]),
      apps,
    );
    assert.deepEqual(gpus[0]?.processes, [
      { pid: 4242, name: "/opt/llama/llama-server", usedMemoryBytes: 20480 * MIB },
    ]);
    assert.deepEqual(gpus[1]?.processes, [
      { pid: 77, name: "python3 train.py --tags a,b", usedMemoryBytes: null },
    ]);
    assert.deepEqual(gpus[2]?.processes, [], "a GPU without a uuid gets no processes");
  });

  it("reads the header variant with units", () => {
    const text =
      "pid, gpu_uuid, used_gpu_memory [MiB], process_name, used_memory [MiB]\n9, GPU-a, 3 MiB, x, 3 MiB\n";
    assert.deepEqual(parseNvidiaAppsCsv(text), [
      { gpuUuid: "GPU-a", process: { pid: 9, name: "x", usedMemoryBytes: 3 * MIB } },
    ]);
  });
});
