/**
 * Models found in a folder (discovery.dir, --models-dir), as raw config entries that go through
 * the same schema, checks and defaults as written ones. The discovery itself (reading the
 * files) happens above this layer; here they are only merged.
 */
export interface DiscoveredEntry {
  /** The raw `models.<id>` entry: `{ model, args }`. */
  readonly entry: Readonly<Record<string, unknown>>;
  /** The file it came from (absolute). */
  readonly from: string;
}

export type DiscoveredEntries = Readonly<Record<string, DiscoveredEntry>>;

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};

/** Names an explicit model answers to, and the files it names: a discovered model may take neither. */
function takenBy(models: Record<string, unknown>): { names: Set<string>; files: Set<string> } {
  const names = new Set<string>();
  const files = new Set<string>();
  for (const [id, raw] of Object.entries(models)) {
    names.add(id);
    const model = asRecord(raw);
    for (const key of ["aliases", "unlistedAliases"]) {
      const list = model[key];
      if (Array.isArray(list)) for (const name of list) if (typeof name === "string") names.add(name);
    }
    if (typeof model.model === "string") files.add(model.model);
  }
  return { names, files };
}

/**
 * The raw config with the discovered models added. Entries written in the config win: a
 * discovered model whose id is taken by a written model (id or alias), or whose file a written
 * model already serves (`resolveFile` makes the written path absolute), is left out.
 */
export function withDiscovered(
  raw: unknown,
  discovered: DiscoveredEntries,
  resolveFile: (path: string) => string,
): { value: unknown; added: Map<string, string> } {
  const root = asRecord(raw);
  const written = asRecord(root.models);
  const taken = takenBy(written);
  const files = new Set([...taken.files].map(resolveFile));
  const models: Record<string, unknown> = {};
  const added = new Map<string, string>();
  for (const [id, found] of Object.entries(discovered)) {
    if (taken.names.has(id) || files.has(found.from)) continue;
    models[id] = found.entry;
    added.set(id, found.from);
  }
  return { value: { ...root, models: { ...models, ...written } }, added };
}
