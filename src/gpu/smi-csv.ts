/**
 * nvidia-smi's CSV (--format=csv[,noheader][,nounits]) as named columns. With a header, the
 * header names the columns ("memory.total [MiB]"), so their order does not matter; without
 * one, the columns are the fields the query asked for, in that order.
 */
export interface SmiTable {
  /** Field name of each column, as in the query ("memory.total"). */
  readonly columns: readonly string[];
  /** The unit the header gives each column ("MiB"), or null (no header, or none printed). */
  readonly units: readonly (string | null)[];
  readonly rows: readonly (readonly string[])[];
}

/** "memory.total [MiB]" or "temperature.gpu": a query field name, optionally with its unit. */
const HEADER_CELL = /^([A-Za-z_][A-Za-z0-9_.]*)(?: \[([^\]]+)\])?$/;

function headerOf(cells: readonly string[], expected: readonly string[]) {
  const parsed = cells.map((cell) => HEADER_CELL.exec(cell.trim()));
  // A data row can look like field names too (a query of only "pstate" prints "P0"), so a
  // header must also name at least one field that was asked for.
  if (parsed.some((m) => m === null)) return null;
  const columns = parsed.map((m) => m?.[1] ?? "");
  if (!columns.some((c) => expected.includes(c))) return null;
  return { columns, units: parsed.map((m) => m?.[2] ?? null) };
}

/**
 * Splits one row into exactly `count` cells. nvidia-smi does not quote, so a value holding a
 * comma (a process name can) makes extra cells: they are joined back into the column at
 * `joinAt`, the one free-text column. A row with too few cells is cut short and is dropped.
 */
function splitRow(line: string, count: number, joinAt: number): string[] | null {
  const cells = line.split(",");
  if (cells.length < count) return null;
  if (cells.length > count) {
    if (joinAt < 0) return null;
    const extra = cells.length - count;
    cells.splice(joinAt, extra + 1, cells.slice(joinAt, joinAt + extra + 1).join(","));
  }
  return cells.map((cell) => cell.trim());
}

/**
 * Reads the CSV. `fields` is what the query asked for (used when there is no header, and to
 * recognise one); `freeText` names the column that may hold commas.
 */
export function readSmiTable(text: string, fields: readonly string[], freeText: string): SmiTable {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  const first = lines[0];
  const header = first === undefined ? null : headerOf(first.split(","), fields);
  const columns = header?.columns ?? fields;
  const units = header?.units ?? columns.map(() => null);
  const joinAt = columns.indexOf(freeText);
  const rows: string[][] = [];
  for (const line of header === null ? lines : lines.slice(1)) {
    const row = splitRow(line, columns.length, joinAt);
    if (row !== null) rows.push(row);
  }
  return { columns, units, rows };
}

/** A cell by field name, with the unit its header gave; undefined cell when not queried. */
export function cellOf(
  table: SmiTable,
  row: readonly string[],
  field: string,
): { cell: string | undefined; unit: string | null } {
  const at = table.columns.indexOf(field);
  return at < 0 ? { cell: undefined, unit: null } : { cell: row[at], unit: table.units[at] ?? null };
}
