import { describe, expect, it } from 'vitest';
import { runsReducer } from '../../../src/lib/runs.ts';
import type { StrategyRun } from '../../../src/api/types.ts';

const run = (id: string, triggeredAt: string, status: StrategyRun['status'] = 'running', extra: Partial<StrategyRun> = {}): StrategyRun => ({
  id, instId: 'BTC-USDT-SWAP', source: 'manual', triggeredAt, finishedAt: null, triggerPrice: '100', baselinePrice: '99', deviationBps: 101.01, status, error: null, summary: null, ...extra,
});

describe('run list', () => {
  it('keeps runs newest first, one per id', () => {
    let state = runsReducer([], { type: 'loaded', runs: [run('a', '2026-01-01T00:00:00Z', 'succeeded'), run('b', '2026-01-01T00:01:00Z', 'failed')] });
    state = runsReducer(state, { type: 'upsert', run: run('c', '2026-01-01T00:02:00Z') });
    expect(state.map((r) => r.id)).toEqual(['c', 'b', 'a']);
    state = runsReducer(state, { type: 'upsert', run: run('c', '2026-01-01T00:02:00Z', 'succeeded', { summary: 'hold', finishedAt: '2026-01-01T00:02:09Z' }) });
    expect(state.map((r) => r.id)).toEqual(['c', 'b', 'a']);
    expect(state[0]).toMatchObject({ status: 'succeeded', summary: 'hold' });
  });

  it('never turns a finished run back to running when events arrive out of order', () => {
    let state = runsReducer([], { type: 'upsert', run: run('a', '2026-01-01T00:00:00Z', 'failed', { error: 'agent down' }) });
    state = runsReducer(state, { type: 'upsert', run: run('a', '2026-01-01T00:00:00Z', 'running') });
    expect(state[0]).toMatchObject({ status: 'failed', error: 'agent down' });
  });

  it('caps the list', () => {
    const many = Array.from({ length: 30 }, (_, i) => run(`r${i}`, new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString()));
    const state = runsReducer([], { type: 'loaded', runs: many }, 10);
    expect(state).toHaveLength(10);
    expect(state[0]!.id).toBe('r29');
  });
});
