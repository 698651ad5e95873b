/**
 * C0 and C1 control characters, DEL, and the Unicode line separators: in a log a client could use
 * them to fake a line break or drive a terminal (ESC sequences). JSON escapes only some of them.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Client-supplied text for a log line: controls shown as \uXXXX, cut at `max` characters. */
export function escapeForLog(text: string, max = 256): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return cut.replace(CONTROL, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
