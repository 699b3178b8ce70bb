// A tool result (JSON text or value) as a table when it has a tabular shape: a list of records, an object
// holding one such list (`{"positions": [...]}`), or a flat record (key → value). Else null (shown as JSON).

export type Cell = string;
export interface ToolTable {
  columns: string[];
  rows: Cell[][];
  /** rows left out past the limit */
  more: number;
}

const MAX_COLUMNS = 8;

function isRecord(value: unknown): value is Record<string, unknown> {
  return Boolean(value) && typeof value === 'object' && !Array.isArray(value);
}

function cell(value: unknown): Cell {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function parse(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

export function toolTable(value: unknown, maxRows = 20): ToolTable | null {
  let data = parse(value);
  if (isRecord(data)) {
    const lists = Object.values(data).filter((v) => Array.isArray(v) && v.length > 0 && v.every(isRecord));
    if (lists.length === 1) data = lists[0];
  }
  if (Array.isArray(data) && data.length > 0 && data.every(isRecord)) {
    const columns: string[] = [];
    for (const row of data as Record<string, unknown>[]) for (const key of Object.keys(row)) if (!columns.includes(key) && columns.length < MAX_COLUMNS) columns.push(key);
    const rows = (data as Record<string, unknown>[]).slice(0, maxRows).map((row) => columns.map((key) => cell(row[key])));
    return { columns, rows, more: Math.max(0, data.length - maxRows) };
  }
  if (isRecord(data) && Object.keys(data).length > 0 && Object.values(data).every((v) => v === null || typeof v !== 'object')) {
    return { columns: ['key', 'value'], rows: Object.entries(data).map(([k, v]) => [k, cell(v)]), more: 0 };
  }
  return null;
}
