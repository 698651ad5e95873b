import { randomUUID } from "node:crypto";

/** What we accept from a client as its own request id: short, printable, no log injection. */
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's X-Request-ID when it is sane, else a fresh UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === "string" && SANE_ID.test(header) ? header : randomUUID();
}
