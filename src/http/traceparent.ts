/**
 * W3C Trace Context `traceparent`: version 00, a 32-hex trace id and a 16-hex parent id (not
 * all zeros), 2-hex flags. Only a well-formed one is passed on to llama-server and written to
 * the access log; anything else is dropped, so a client cannot put arbitrary text there.
 */
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

export function traceparentFrom(header: string | string[] | undefined): string | null {
  if (typeof header !== "string" || header.length !== 55) return null;
  const value = header.toLowerCase();
  return TRACEPARENT.test(value) ? value : null;
}
