import type { ChildAddress } from "./health-probe.js";
import { buildLaunch, type Launch } from "./launch.js";
import type { ChildSpec } from "./supervisor-types.js";

/** The argv and environment of one spawn of a supervised child on `address` with `apiKey`. */
export function childLaunch(
  spec: ChildSpec,
  baseEnv: NodeJS.ProcessEnv,
  address: ChildAddress,
  apiKey: string,
): { readonly launch: Launch; readonly env: NodeJS.ProcessEnv } {
  const launch = buildLaunch({
    launch: spec.launch,
    binary: spec.binary,
    port: address.port,
    socket: address.socket,
    apiKey,
    modelId: spec.modelId,
    deathSignalWrapper: spec.deathSignalWrapper,
  });
  const env = {
    ...baseEnv,
    ...spec.env,
    // The key in the environment, not in argv: `ps` shows argv to every local user.
    LLAMA_API_KEY: apiKey,
    // Router-child mode: push readiness on stdout, exit on stdin EOF (see router-child-line.ts).
    LLAMA_SERVER_ROUTER_PORT: "0",
  };
  return { launch, env };
}
