import { hint } from "./did-you-mean.js";
import type { ParsedConfig } from "./schema.js";
import type { ConfigProblem } from "./types.js";

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
export function nameProblems(config: ParsedConfig): ConfigProblem[] {
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
