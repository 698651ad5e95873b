import assert from "node:assert/strict";
import { waitFor } from "./deadline.js";
import type { RunningGateway } from "./gateway-process.js";
import { childGroups, groupMembers } from "./process-tree.js";

/** Stops the gateway (exit code 0 expected) and waits until none of its children is left. */
export async function stopClean(gateway: RunningGateway): Promise<void> {
  const groups = childGroups(gateway.process.pid ?? 0);
  assert.equal(await gateway.stop(), 0, gateway.output().slice(-3000));
  await waitFor(
    "every child to be gone",
    () => (groupMembers(groups).length === 0 ? true : undefined),
    5_000,
  );
}
