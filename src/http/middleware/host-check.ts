import { GatewayError } from "../../errors/gateway-error.js";
import { isLoopbackBind, isLoopbackHost } from "../../security/loopback.js";
import type { Step } from "./step.js";

/** The name in a Host header: lower case, without port, brackets or a trailing dot. */
export function hostName(header: string): string {
  const value = header.trim().toLowerCase();
  const name = value.startsWith("[") ? value.slice(1, value.indexOf("]")) : value.replace(/:\d*$/, "");
  return name.replace(/\.$/, "");
}

/**
 * DNS-rebinding guard: a web page can make a browser resolve its own name to 127.0.0.1 and then
 * talk to a gateway on loopback "same-origin"; the browser still sends the page's name as Host.
 * So when bound to loopback, only loopback names and server.allowedHosts pass. Also applied on
 * other addresses when allowedHosts is set. null when there is nothing to check.
 */
export function hostCheck(server: { host: string; allowedHosts: readonly string[] }): Step | null {
  const allowed = new Set(server.allowedHosts);
  if (!isLoopbackBind(server.host) && allowed.size === 0) return null;
  return (ctx) => {
    const header = ctx.req.headers.host;
    // Browsers always send Host; a client that does not is not a rebinding page.
    if (header === undefined || header === "") return;
    const name = hostName(header);
    if (isLoopbackHost(name) || allowed.has(name)) return;
    throw new GatewayError(
      "forbidden",
      "this Host is not allowed: add its name to server.allowedHosts to reach the gateway by it",
    );
  };
}
