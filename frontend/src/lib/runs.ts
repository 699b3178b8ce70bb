// Strategy run list: the initial GET plus SSE `run` events (a run is sent when it starts and again
// when it finishes). Kept newest first, one entry per id, capped.
import type { StrategyRun } from '../api/types.ts';
import { parseTime } from './format.ts';

export type RunAction =
  | { type: 'loaded'; runs: readonly StrategyRun[] }
  | { type: 'upsert'; run: StrategyRun };

const FINISHED = new Set(['succeeded', 'failed', 'skipped']);

function newestFirst(a: StrategyRun, b: StrategyRun): number {
  return (parseTime(b.triggeredAt) ?? 0) - (parseTime(a.triggeredAt) ?? 0);
}

/** Merges `incoming` into `existing` for the same id: a finished run never goes back to running. */
function merge(existing: StrategyRun | undefined, incoming: StrategyRun): StrategyRun {
  if (!existing) return incoming;
  if (FINISHED.has(existing.status) && incoming.status === 'running') return existing;
  return { ...existing, ...incoming };
}

export function runsReducer(state: readonly StrategyRun[], action: RunAction, limit = 200): StrategyRun[] {
  const byId = new Map<string, StrategyRun>(state.map((run) => [run.id, run]));
  const incoming = action.type === 'loaded' ? action.runs : [action.run];
  for (const run of incoming) {
    if (!run || typeof run.id !== 'string') continue;
    byId.set(run.id, merge(byId.get(run.id), run));
  }
  return [...byId.values()].sort(newestFirst).slice(0, limit);
}
