import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseNvidiaSmiXml } from "./nvidia-smi-xml.js";

const MIB = 2 ** 20;

// The real H200 document is checked in nvidia-fixtures.test.ts; these are the cases it lacks.
describe("nvidia-smi -q -x", () => {
  it("skips MIG devices' memory, reads older drivers' power_readings and decodes entities", () => {
    const xml = `<?xml version="1.0" ?>
<nvidia_smi_log>
  <driver_version>535.1</driver_version>
  <gpu id="00000000:01:00.0">
    <product_name>A &amp; B</product_name>
    <mig_devices><mig_device><fb_memory_usage><total>10 MiB</total><used>1 MiB</used><free>9 MiB</free></fb_memory_usage></mig_device></mig_devices>
    <uuid>GPU-1</uuid>
    <fb_memory_usage><total>81920 MiB</total><used>[N/A]</used><free>81000 MiB</free></fb_memory_usage>
    <utilization><gpu_util>N/A</gpu_util></utilization>
    <power_readings><power_draw>60.00 W</power_draw><power_limit>400.00 W</power_limit></power_readings>
    <processes></processes>
  </gpu>
  <gpu id="00000000:02:00.0">
    <uuid>GPU-2</uuid>
  </gpu>
</nvidia_smi_log>`;
    const [first, second] = parseNvidiaSmiXml(xml);
    assert.equal(first?.name, "A & B");
    assert.equal(first?.driverVersion, "535.1");
    assert.equal(first?.memoryTotalBytes, 81920 * MIB);
    assert.equal(first?.memoryUsedBytes, null);
    assert.equal(first?.memoryFreeBytes, 81000 * MIB);
    assert.equal(first?.utilizationPercent, null);
    assert.equal(first?.powerDrawW, 60);
    assert.equal(first?.powerLimitW, 400);
    assert.deepEqual(first?.processes, []);
    assert.equal(second?.index, 1);
    assert.equal(second?.uuid, "GPU-2");
    assert.equal(second?.memoryFreeBytes, null);
  });

  it("reads nothing from a document without GPUs", () => {
    assert.deepEqual(parseNvidiaSmiXml("<nvidia_smi_log></nvidia_smi_log>"), []);
  });
});
