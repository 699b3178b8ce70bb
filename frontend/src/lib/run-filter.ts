// Run history filters (instrument, source, status, decision) and paging, applied to the loaded runs.
import type { RunView } from '../api/extensions.ts';

export interface RunFilter {
  instId: string;
  source: string;
  status: string;
  decision: string;
}

export const EMPTY_RUN_FILTER: RunFilter = { instId: '', source: '', status: '', decision: '' };

/** Runs matching every set field ('' = any); a decision filter keeps only runs that have that decision. */
export function filterRuns(runs: readonly RunView[], filter: RunFilter): RunView[] {
  return runs.filter((run) =>
    (!filter.instId || run.instId === filter.instId) &&
    (!filter.source || run.source === filter.source) &&
    (!filter.status || run.status === filter.status) &&
    (!filter.decision || run.decision?.action === filter.decision));
}

/** Page `page` (0-based, clamped) of `size` rows and the page count (at least 1). */
export function pageOf<T>(rows: readonly T[], page: number, size: number): { rows: T[]; pages: number; page: number } {
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const current = Math.min(Math.max(0, page), pages - 1);
  return { rows: rows.slice(current * size, current * size + size), pages, page: current };
}
