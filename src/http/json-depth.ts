const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
/** A top-level key longer than this is not worth naming in an error. */
const KEY_LIMIT = 128;

/** Where the nesting went too deep: the top-level key it was under, when there is one. */
export interface TooDeep {
  readonly key: string | null;
}

/** The index of the quote that closes the string opened at `open`, or -1 when it never closes. */
function stringEnd(raw: Buffer, open: number): number {
  let at = raw.indexOf(QUOTE, open + 1);
  while (at !== -1) {
    let backslashes = 0;
    while (raw[at - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
    at = raw.indexOf(QUOTE, at + 1);
  }
  return -1;
}

function keyAt(raw: Buffer, start: number, end: number): string | null {
  if (start < 0 || end - start > KEY_LIMIT) return null;
  try {
    const key: unknown = JSON.parse(raw.toString("utf8", start, end + 1));
    return typeof key === "string" ? key : null;
  } catch {
    return null;
  }
}

/**
 * Finds nesting of objects and arrays deeper than `maxDepth` in raw JSON bytes, without parsing
 * them: one pass that counts brackets outside strings (a string is skipped with a native search
 * for its closing quote). Run before JSON.parse and before anything walks the parsed value, so
 * that a 200 KB body nested 100,000 deep is refused at once: llama-server crashes on one
 * (SIGSEGV in its recursive JSON handling) and the gateway's own JSON.stringify would overflow
 * its stack. Malformed JSON is not judged here; JSON.parse reports it.
 */
export function findTooDeep(raw: Buffer, maxDepth: number): TooDeep | null {
  // Each level costs at least one byte.
  if (raw.length <= maxDepth) return null;
  let depth = 0;
  let keyStart = -1;
  let keyEnd = -1;
  /** In the top-level object, after `{` or `,`: the next string is a key. */
  let expectKey = false;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i];
    if (byte === QUOTE) {
      const end = stringEnd(raw, i);
      if (end === -1) return null;
      if (depth === 1 && expectKey) {
        keyStart = i;
        keyEnd = end;
        expectKey = false;
      }
      i = end;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      depth++;
      if (depth > maxDepth) return { key: keyAt(raw, keyStart, keyEnd) };
      if (depth === 1) expectKey = byte === OPEN_OBJECT;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
    } else if (byte === COMMA && depth === 1) {
      expectKey = true;
    }
  }
  return null;
}
