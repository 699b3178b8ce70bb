// Strategy run list: the initial GET plus SSE `run` events (a run is sent when it starts and again
// when it finishes). Kept newest first, one entry per id, capped.
import type { StrategyRun } from '../api/types.ts';
import { parseTime } from './format.ts';

export type RunAction<R extends StrategyRun = StrategyRun> =
  | { type: 'loaded'; runs: readonly R[] }
  | { type: 'upsert'; run: R };

const FINISHED = new Set(['succeeded', 'failed', 'skipped']);

function newestFirst(a: StrategyRun, b: StrategyRun): number {
  return (parseTime(b.triggeredAt) ?? 0) - (parseTime(a.triggeredAt) ?? 0);
}

/** Merges `incoming` into `existing` for the same id: a finished run never goes back to running. */
function merge<R extends StrategyRun>(existing: R | undefined, incoming: R): R {
  if (!existing) return incoming;
  if (FINISHED.has(existing.status) && incoming.status === 'running') return existing;
  return { ...existing, ...incoming };
}

export function runsReducer<R extends StrategyRun>(state: readonly R[], action: RunAction<R>, limit = 200): R[] {
  const byId = new Map<string, R>(state.map((run) => [run.id, run]));
  const incoming = action.type === 'loaded' ? action.runs : [action.run];
  for (const run of incoming) {
    if (!run || typeof run.id !== 'string') continue;
    byId.set(run.id, merge(byId.get(run.id), run));
  }
  return [...byId.values()].sort(newestFirst).slice(0, limit);
}
