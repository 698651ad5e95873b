// Byte-level helpers over JSON that llama-server wrote, so the hot path can find one key in a
// chunk without parsing the whole thing. They rely on one property of valid JSON: a `"` inside
// a string is always escaped, so an unescaped `"key":` in the bytes can only be a real key.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = 0x7b;
const CLOSE = 0x7d;

/** Index just past the string that starts with the `"` at `start`, or -1 when it never ends. */
export function stringEnd(buf: Buffer, start: number): number {
  let at = start + 1;
  for (;;) {
    const quote = buf.indexOf(QUOTE, at);
    if (quote === -1) return -1;
    // The quote is escaped when an odd number of backslashes precede it.
    let slashes = 0;
    while (quote - slashes - 1 > start && buf[quote - slashes - 1] === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return quote + 1;
    at = quote + 1;
  }
}

/** Index just past the object that starts with the `{` at `start`, or -1 when it is cut off. */
export function objectEnd(buf: Buffer, start: number): number {
  if (buf[start] !== OPEN) return -1;
  let depth = 0;
  for (let at = start; at < buf.length; at++) {
    const byte = buf[at];
    if (byte === QUOTE) {
      const end = stringEnd(buf, at);
      if (end === -1) return -1;
      at = end - 1;
    } else if (byte === OPEN) {
      depth++;
    } else if (byte === CLOSE) {
      depth--;
      if (depth === 0) return at + 1;
    }
  }
  return -1;
}

const MODEL_KEY = Buffer.from('"model":"');

/**
 * Replaces the value of every `"model":"…"` key in `buf` with `nameJson` (a JSON string,
 * quotes included). Returns `buf` itself when nothing differs, so the common case (the client
 * asked by the name llama-server answers with) costs one native search and no copy.
 */
export function replaceModelValues(buf: Buffer, nameJson: Buffer): Buffer {
  let pieces: Buffer[] | null = null;
  let copiedUpTo = 0;
  let at = buf.indexOf(MODEL_KEY);
  while (at !== -1) {
    const valueStart = at + MODEL_KEY.length - 1;
    const valueEnd = stringEnd(buf, valueStart);
    if (valueEnd === -1) break;
    const same =
      valueEnd - valueStart === nameJson.length &&
      buf.compare(nameJson, 0, nameJson.length, valueStart, valueEnd) === 0;
    if (!same) {
      pieces ??= [];
      pieces.push(buf.subarray(copiedUpTo, valueStart), nameJson);
      copiedUpTo = valueEnd;
    }
    at = buf.indexOf(MODEL_KEY, valueEnd);
  }
  if (pieces === null) return buf;
  pieces.push(buf.subarray(copiedUpTo));
  return Buffer.concat(pieces);
}
