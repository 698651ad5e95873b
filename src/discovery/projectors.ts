import { basename, dirname } from "node:path";
import { ggufNumber, ggufString } from "../llama/gguf-model-info.js";
import type { GgufMetadata } from "../llama/gguf-types.js";

/**
 * A multimodal projector: llama.cpp's router (common/preset.cpp) goes by "mmproj" in the name;
 * the file itself says so with general.type "mmproj" or architecture "clip" (clip.cpp's
 * dummy architecture), which also catches projectors renamed by hand.
 */
export function isProjector(path: string, metadata: GgufMetadata): boolean {
  return (
    /mmproj/i.test(basename(path)) ||
    ggufString(metadata, "general.type") === "mmproj" ||
    ggufString(metadata, "general.architecture") === "clip"
  );
}

/** The text width a projector feeds (clip.<modality>.projection_dim), when it says. */
export function projectionDim(metadata: GgufMetadata): number | undefined {
  return (
    ggufNumber(metadata, "clip.vision.projection_dim") ?? ggufNumber(metadata, "clip.audio.projection_dim")
  );
}

export interface ProjectorCandidate {
  readonly path: string;
  /** n_embd of the text model, when known. */
  readonly embeddingLength: number | undefined;
}

export interface Projector {
  readonly path: string;
  readonly projectionDim: number | undefined;
}

/** The name a projector shares with its model once the word "mmproj" is taken out. */
const stemOf = (path: string): string =>
  basename(path)
    .replace(/\.gguf$/i, "")
    .replace(/[-_.]?mmproj[-_.]?/i, "")
    .toLowerCase();

const sharedPrefix = (a: string, b: string): number => {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
};

export interface Attachment {
  /** Model path → projector path. */
  readonly byModel: ReadonlyMap<string, string>;
  readonly problems: readonly { readonly path: string; readonly message: string }[];
}

/**
 * Attaches each projector to the text models in its own folder whose width it matches: all of
 * those sharing the longest name prefix with it (one mmproj-F16.gguf next to Q4 and Q8 files
 * of one model serves both). A model keeps the projector with the longer shared prefix, the
 * earlier path on a tie. A projector with no model is a problem: alone it serves nothing.
 */
export function attachProjectors(
  projectors: readonly Projector[],
  models: readonly ProjectorCandidate[],
): Attachment {
  const best = new Map<string, { projector: string; score: number }>();
  const problems: { path: string; message: string }[] = [];
  for (const projector of projectors) {
    const folder = dirname(projector.path);
    const fitting = models.filter(
      (m) =>
        dirname(m.path) === folder &&
        (projector.projectionDim === undefined ||
          m.embeddingLength === undefined ||
          m.embeddingLength === projector.projectionDim),
    );
    if (fitting.length === 0) {
      problems.push({ path: projector.path, message: "projector (mmproj) with no text model in its folder" });
      continue;
    }
    const stem = stemOf(projector.path);
    const scores = fitting.map((m) => sharedPrefix(stem, stemOf(m.path)));
    const top = Math.max(...scores);
    fitting.forEach((m, i) => {
      const score = scores[i] ?? 0;
      const held = best.get(m.path);
      if (score === top && (held === undefined || score > held.score)) {
        best.set(m.path, { projector: projector.path, score });
      }
    });
  }
  const byModel = new Map([...best].map(([model, { projector }]) => [model, projector]));
  const used = new Set(byModel.values());
  for (const projector of projectors) {
    if (!used.has(projector.path) && !problems.some((p) => p.path === projector.path)) {
      problems.push({
        path: projector.path,
        message: "projector (mmproj) not attached: its models have a closer one",
      });
    }
  }
  return { byModel, problems };
}
