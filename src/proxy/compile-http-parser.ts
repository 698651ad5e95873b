import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { Client } from "../util/undici-parts.js";

/**
 * undici compiles its HTTP parser (llhttp, WebAssembly, shared by every connection of the
 * process) on its first connection: about 20 ms on a 2-core machine, which the first request
 * after a start would wait for on top of llama-server's load. One connection to a throwaway
 * loopback listener that hangs up at once does it while the gateway starts instead.
 */
export async function compileHttpParser(): Promise<void> {
  const hangUp = createServer((socket) => socket.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      hangUp.once("error", reject);
      hangUp.listen(0, "127.0.0.1", resolve);
    });
    const client = new Client(`http://127.0.0.1:${(hangUp.address() as AddressInfo).port}`, {
      connectTimeout: 2_000,
      headersTimeout: 2_000,
    });
    await client.request({ path: "/", method: "GET" }).then(
      (answer) => answer.body.dump(),
      () => {},
    );
    await client.destroy();
  } catch {
    // Only a head start: the first real connection compiles it otherwise.
  } finally {
    hangUp.close();
  }
}
