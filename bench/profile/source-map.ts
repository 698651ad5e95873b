import { readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Decodes one base64 VLQ segment of a source map's `mappings` into its numbers. */
function decodeSegment(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of segment) {
    const digit = BASE64.indexOf(char);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      out.push(value & 1 ? -(value >> 1) : value >> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

interface Segment {
  readonly column: number;
  readonly source: number;
  readonly line: number;
}

/** One compiled file's map: generated (line, column) → original file and line. */
export class SourceMap {
  readonly #lines: Segment[][] = [];
  readonly #sources: string[];

  constructor(mapFile: string) {
    const map = JSON.parse(readFileSync(mapFile, "utf8")) as {
      sources: string[];
      mappings: string;
      sourceRoot?: string;
    };
    this.#sources = map.sources.map((s) => resolve(dirname(mapFile), map.sourceRoot ?? "", s));
    let source = 0;
    let line = 0;
    for (const text of map.mappings.split(";")) {
      const segments: Segment[] = [];
      let column = 0;
      for (const raw of text.split(",")) {
        if (raw === "") continue;
        const [dc = 0, ds, dl] = decodeSegment(raw);
        column += dc;
        if (ds === undefined || dl === undefined) continue;
        source += ds;
        line += dl;
        segments.push({ column, source, line });
      }
      this.#lines.push(segments);
    }
  }

  /** 0-based generated position → absolute source path and 1-based original line. */
  lookup(line: number, column: number): { file: string; line: number } | null {
    const segments = this.#lines[line];
    if (segments === undefined || segments.length === 0) return null;
    let best = segments[0] as Segment;
    for (const segment of segments) if (segment.column <= column) best = segment;
    return { file: this.#sources[best.source] ?? "?", line: best.line + 1 };
  }
}

/**
 * Maps profile locations in the built gateway (dist/…/*.js) back to src/…/*.ts lines, so the
 * report names lines a developer can open. Files without a map keep their own location.
 */
export class Locator {
  readonly #maps = new Map<string, SourceMap | null>();
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  #map(file: string): SourceMap | null {
    if (!this.#maps.has(file)) {
      let map: SourceMap | null = null;
      try {
        map = new SourceMap(`${file}.map`);
      } catch {
        map = null;
      }
      this.#maps.set(file, map);
    }
    return this.#maps.get(file) ?? null;
  }

  /** `url` as V8 reports it; line and column 0-based. Returns "path:line" relative to the repo. */
  locate(url: string, line: number, column: number): string {
    if (url === "") return "(native)";
    if (url.startsWith("node:")) return `${url}:${line + 1}`;
    const file = url.startsWith("file://") ? fileURLToPath(url) : url;
    const mapped = file.endsWith(".js") ? this.#map(file)?.lookup(line, column) : null;
    const where = mapped ?? { file, line: line + 1 };
    const rel = relative(this.#root, where.file);
    const short = rel
      .replace(/^.*node_modules\//, "node_modules/")
      .replace(/^\.bench\/gateway-head\/[^/]+\//, "");
    return `${short.startsWith("..") ? where.file : short}:${where.line}`;
  }
}
