import { stat } from "node:fs/promises";
import { type GgufFile, readGgufMetadata } from "../llama/gguf-reader.js";
import { GgufError } from "../llama/gguf-types.js";

export type Inspected =
  | { readonly ok: true; readonly file: GgufFile }
  | { readonly ok: false; readonly message: string };

/**
 * The reader's words for a file that ends too early (gguf-reader.ts: Cursor.fill and the
 * tensor extent check in parse). A file still being copied looks exactly like this, and a
 * model that llama-server would map past its end must not be offered.
 */
const ENDS_EARLY = /file ends first|runs past the end of the file|file shrank while reading/;

/** Where the tensor data ends: what the file must be at least as long as. */
export function dataEnd(file: GgufFile): number {
  let end = file.dataOffset;
  for (const t of file.tensors) end = Math.max(end, file.dataOffset + t.offset + (t.byteSize ?? 0));
  return end;
}

/**
 * Reads a file's header and checks that all of its tensor data is there. A truncated file
 * becomes "incomplete: ... (still being copied?)", anything else the reader refuses becomes
 * its message; neither throws.
 */
export async function inspectGguf(path: string): Promise<Inspected> {
  let file: GgufFile;
  try {
    file = await readGgufMetadata(path);
  } catch (error) {
    if (!(error instanceof GgufError)) {
      const code = (error as NodeJS.ErrnoException).code;
      return { ok: false, message: `cannot read${code ? ` (${code})` : ""}: ${(error as Error).message}` };
    }
    const detail = error.message.replace(/^.*?: not a valid GGUF file: /, "");
    if (ENDS_EARLY.test(detail)) {
      const size = await stat(path).then(
        (s) => `${s.size} bytes`,
        () => "the file",
      );
      return { ok: false, message: `incomplete: ${size}, and ${detail} (still being copied?)` };
    }
    return { ok: false, message: `not a valid GGUF file: ${detail}` };
  }
  // The reader checks this too; kept so the rule does not depend on a reader detail.
  const end = dataEnd(file);
  if (file.fileSize < end) {
    return { ok: false, message: `incomplete: ${file.fileSize} of ${end} bytes (still being copied?)` };
  }
  return { ok: true, file };
}
