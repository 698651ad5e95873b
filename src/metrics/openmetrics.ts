/** OpenMetrics' content type, as Prometheus asks for it. */
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

const TYPE = "# TYPE ";
const HELP = "# HELP ";

/**
 * Prometheus text as OpenMetrics 1.0: a counter family is named without its `_total` (its
 * samples keep it), families `isUnknown` picks are typed `unknown` (llama.cpp's, whose names do
 * not follow OpenMetrics' counter rules), blank lines go, and the text ends with `# EOF`.
 */
export function toOpenMetrics(text: string, isUnknown: (family: string) => boolean = () => false): string {
  const lines = text.split("\n");
  const counters = new Set<string>();
  for (const line of lines) {
    if (line.startsWith(TYPE) && line.endsWith(" counter"))
      counters.add(line.slice(TYPE.length, -" counter".length));
  }
  const out: string[] = [];
  for (const line of lines) {
    if (line === "") continue;
    const meta = line.startsWith(TYPE) || line.startsWith(HELP);
    if (!meta) {
      out.push(line);
      continue;
    }
    const space = line.indexOf(" ", TYPE.length);
    const name = space === -1 ? line.slice(TYPE.length) : line.slice(TYPE.length, space);
    const rest = space === -1 ? "" : line.slice(space);
    if (isUnknown(name)) {
      out.push(line.startsWith(TYPE) ? `${TYPE}${name} unknown` : line);
    } else if (counters.has(name) && name.endsWith("_total")) {
      out.push(`${line.slice(0, TYPE.length)}${name.slice(0, -"_total".length)}${rest}`);
    } else {
      out.push(line);
    }
  }
  out.push("# EOF");
  return `${out.join("\n")}\n`;
}
