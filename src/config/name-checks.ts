import { hint } from "./did-you-mean.js";
import type { ConfigProblem } from "./types.js";

/** The part of a config the name checks read. */
export interface NamedModels {
  readonly models: Readonly<
    Record<string, { readonly aliases: readonly string[]; readonly unlistedAliases: readonly string[] }>
  >;
  readonly defaultModel: string | null;
}

const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];

/**
 * The names of a config that did not pass the schema yet, read as far as they can be: so a
 * duplicate alias is reported in the same round as the shape mistakes, not after they are fixed.
 */
export function looseNames(value: unknown): NamedModels {
  const root = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const rawModels = (typeof root.models === "object" && root.models !== null ? root.models : {}) as Record<
    string,
    unknown
  >;
  const models: Record<string, { aliases: string[]; unlistedAliases: string[] }> = {};
  for (const [id, raw] of Object.entries(rawModels)) {
    const model = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    models[id] = { aliases: strings(model.aliases), unlistedAliases: strings(model.unlistedAliases) };
  }
  return { models, defaultModel: typeof root.defaultModel === "string" ? root.defaultModel : null };
}

interface Owner {
  readonly model: string;
  /** Where the name was declared: `models.qwen` for an id, `models.qwen.aliases.0` for an alias. */
  readonly path: string;
}

/**
 * Every id and alias must name exactly one model, or a request could be routed to either.
 * Ids are registered first, so an alias that clashes with an id is the one reported, wherever
 * the two appear in the file. Then defaultModel must resolve to some id or alias.
 */
export function nameProblems(config: NamedModels): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const owners = new Map<string, Owner>();
  for (const id of Object.keys(config.models)) owners.set(id, { model: id, path: `models.${id}` });
  for (const [id, model] of Object.entries(config.models)) {
    const lists = [
      ["aliases", model.aliases],
      ["unlistedAliases", model.unlistedAliases],
    ] as const;
    for (const [listName, names] of lists) {
      names.forEach((name, i) => {
        const path = `models.${id}.${listName}.${i}`;
        const owner = owners.get(name);
        if (owner === undefined) owners.set(name, { model: id, path });
        else problems.push({ path, message: clashMessage(name, id, owner) });
      });
    }
  }
  const wanted = config.defaultModel;
  if (wanted !== null && !owners.has(wanted)) {
    problems.push({
      path: "defaultModel",
      message: `"${wanted}" is not a model id or alias${hint(wanted, [...owners.keys()])}`,
    });
  }
  return problems;
}

function clashMessage(name: string, id: string, owner: Owner): string {
  if (owner.path === `models.${owner.model}`) {
    return owner.model === id
      ? `"${name}" is this model's own id`
      : `"${name}" is already the id of model "${owner.model}"`;
  }
  return `"${name}" is already an alias of model "${owner.model}" (${owner.path})`;
}
