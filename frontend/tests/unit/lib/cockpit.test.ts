// The pure logic behind the fixes of issue 14: signed run deviation, the chart's update-or-replace
// decision, incremental equity snapshots, which cached reads an SSE event makes stale, origins,
// server errors in words, order hints, run filters and paging.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keysStaleAfter } from '../../../src/api/query.ts';
import { chartUpdateKind, groupRunMarkers, loadSnapshotsAfter, toFillMarkers } from '../../../src/lib/chart-data.ts';
import { errorMessageKey } from '../../../src/lib/error-text.ts';
import { formatBps } from '../../../src/lib/format.ts';
import { orderHints } from '../../../src/lib/order-hints.ts';
import { originGroup, parseOrigin } from '../../../src/lib/origin.ts';
import { EMPTY_RUN_FILTER, filterRuns, pageOf } from '../../../src/lib/run-filter.ts';
import { runDeviationBps } from '../../../src/lib/strategy.ts';
import { toolTable } from '../../../src/lib/tool-table.ts';
import type { RunView } from '../../../src/api/extensions.ts';

describe('run deviation has its sign', () => {
  it('64,978.9 against a 65,192.3 baseline is −32.7 bp, not +32.7 (the stored number is the size only)', () => {
    const run = { triggerPrice: '64978.9', baselinePrice: '65192.3', deviationBps: 32.73 };
    expect(formatBps(runDeviationBps(run))).toBe('-32.7 bp');
    expect(formatBps(runDeviationBps({ triggerPrice: '65192.3', baselinePrice: '64978.9', deviationBps: 32.8 }))).toBe('+32.8 bp');
  });
  it('falls back to the stored number without both prices', () => {
    expect(runDeviationBps({ triggerPrice: null, baselinePrice: '1', deviationBps: 12 })).toBe(12);
    expect(runDeviationBps({})).toBeNull();
  });
  it('the sign always follows trigger vs baseline', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 1, max: 10_000_000 }), (trigger, baseline) => {
      const bps = runDeviationBps({ triggerPrice: String(trigger / 10), baselinePrice: String(baseline / 10), deviationBps: 999 })!;
      expect(Math.sign(bps)).toBe(Math.sign(trigger - baseline));
    }));
  });
});

describe('candle chart: update the last bar or replace the data', () => {
  const btc = { seriesKey: 'BTC-USDT-SWAP:3m', firstTs: 1000, length: 300 };
  it('replaces the data when the instrument changes even though the first bar and length match', () => {
    expect(chartUpdateKind(btc, { ...btc, seriesKey: 'ETH-USDT-SWAP:3m' })).toBe('replace');
    expect(chartUpdateKind(btc, { ...btc, seriesKey: 'BTC-USDT-SWAP:1m' })).toBe('replace');
  });
  it('updates on a live tick of the same series (same bar or one more), replaces otherwise', () => {
    expect(chartUpdateKind(btc, btc)).toBe('update');
    expect(chartUpdateKind(btc, { ...btc, length: 301 })).toBe('update');
    expect(chartUpdateKind(btc, { ...btc, length: 302 })).toBe('replace');
    expect(chartUpdateKind(btc, { ...btc, firstTs: 4000 })).toBe('replace');
    expect(chartUpdateKind(null, btc)).toBe('replace');
  });
});

describe('equity snapshots are fetched incrementally', () => {
  type S = { id: number; totalEq: string };
  const server = (stored: S[], pageSize: number) => {
    const asked: number[] = [];
    const fetchPage = async (after: number) => {
      asked.push(after);
      const page = stored.filter((s) => s.id > after).slice(0, pageSize);
      const more = stored.some((s) => s.id > (page.at(-1)?.id ?? after));
      return { snapshots: page, nextAfter: page.length && more ? page.at(-1)!.id : null };
    };
    return { asked, fetchPage };
  };
  const stored = Array.from({ length: 25 }, (_, i) => ({ id: i + 1, totalEq: String(1000 + i) }));

  it('the first load pages from 0; a refresh asks only for what follows the last id held', async () => {
    const first = server(stored.slice(0, 20), 10);
    const held = await loadSnapshotsAfter<S>([], first.fetchPage);
    expect(held.map((s) => s.id)).toEqual(stored.slice(0, 20).map((s) => s.id));
    expect(first.asked).toEqual([0, 10]);
    const later = server(stored, 10);
    const refreshed = await loadSnapshotsAfter<S>(held, later.fetchPage);
    expect(later.asked).toEqual([20]); // not 0: the 20 held are not fetched again
    expect(refreshed.map((s) => s.id)).toEqual(stored.map((s) => s.id));
  });
  it('nothing new: one request, nothing added, no duplicates', async () => {
    const idle = server(stored, 10);
    const again = await loadSnapshotsAfter<S>(stored, idle.fetchPage);
    expect(idle.asked).toEqual([25]);
    expect(again).toHaveLength(25);
  });
});

describe('SSE events invalidate the reads they make stale', () => {
  const keys = ['balance', 'positions', 'orders', 'fills', 'approvals', 'candles:BTC-USDT-SWAP:3m', 'runs:BTC-USDT-SWAP', 'risk', 'snapshots', 'fills-history'];
  it('an approval event refreshes the approvals and runs, not the candles', () => {
    expect(keysStaleAfter('approval', keys)).toEqual(['approvals', 'runs:BTC-USDT-SWAP']);
  });
  it('an account event refreshes positions, orders, fills (and their histories), risk and balance', () => {
    expect(keysStaleAfter('account', keys).sort()).toEqual(['balance', 'fills', 'fills-history', 'orders', 'positions', 'risk']);
  });
  it('a balance event refetches what moved the balance, not the balance itself (patched from the event)', () => {
    expect(keysStaleAfter('balance', keys)).toEqual(['positions', 'orders', 'fills']);
  });
  it('tickers invalidate nothing (they go to the ticker store)', () => {
    expect(keysStaleAfter('ticker', keys)).toEqual([]);
  });
});

describe('origins', () => {
  it('reads the full origin strings of interface 1 and the older plain ones', () => {
    expect(parseOrigin('agent:run:r-123')).toEqual({ kind: 'run', ref: 'r-123' });
    expect(parseOrigin('agent:chat:chat-9')).toEqual({ kind: 'chat', ref: 'chat-9' });
    expect(parseOrigin('mcp:claude-desktop')).toEqual({ kind: 'mcp', ref: 'claude-desktop' });
    expect(parseOrigin('manual')).toEqual({ kind: 'manual', ref: null });
    expect(parseOrigin('agent')).toEqual({ kind: 'agent', ref: null });
    expect(parseOrigin(null)).toEqual({ kind: 'manual', ref: null });
    expect(originGroup('agent:run:x')).toBe('analysis');
    expect(originGroup('agent')).toBe('analysis');
    expect(originGroup('weird')).toBe('other');
  });
});

describe('server errors in words', () => {
  it('maps risk rules and OKX codes (from the code field or the message) to message keys', () => {
    expect(errorMessageKey({ status: 422, rule: 'max_leverage', message: 'x' })).toBe('err.rule.max_leverage');
    expect(errorMessageKey({ status: 422, code: '51008', message: 'x' })).toBe('err.okx.margin');
    expect(errorMessageKey({ status: 422, message: 'OKX error 51121: lot size' })).toBe('err.okx.lotSize');
    expect(errorMessageKey({ status: 0, message: 'Network error' })).toBe('err.network');
    expect(errorMessageKey({ status: 400, message: 'instId must look like BTC-USDT-SWAP' })).toBeNull();
  });
});

describe('order hints', () => {
  const BTC = { ctVal: '0.01', lotSz: '0.1', minSz: '0.1', ctType: 'linear', ctValCcy: 'BTC' };
  it('max size is the smaller of available × leverage and the risk guard’s largest order; margin = notional ÷ leverage', () => {
    const hints = orderHints({ available: '1000', equity: '10000', maxOrderPct: '25', leverage: '5', notionalUsdt: '500', price: '50000', spec: BTC });
    expect(hints).toEqual({ available: '1000.00', maxNotional: '2500.00', maxContracts: '5', margin: '100.00', marginLeverage: 5 });
    const capped = orderHints({ available: '1000', equity: '10000', maxOrderPct: '5', leverage: '5', notionalUsdt: null, price: '50000', spec: BTC });
    expect(capped.maxNotional).toBe('500.00');
    expect(capped.maxContracts).toBe('1');
    expect(orderHints({ available: null, equity: null, maxOrderPct: null, leverage: null, notionalUsdt: '300', price: null, spec: undefined })).toMatchObject({ maxNotional: null, margin: '300.00', marginLeverage: 1 });
  });
});

describe('run history filters and paging', () => {
  const run = (id: string, over: Partial<RunView> = {}): RunView => ({ id, instId: 'BTC-USDT-SWAP', source: 'manual', status: 'succeeded', triggeredAt: '2026-12-01T00:00:00Z', orders: [], toolCalls: [], ...over });
  const runs = [run('a', { decision: { action: 'open_long', instId: 'BTC-USDT-SWAP', confidence: 70, reason: 'breakout' } }), run('b', { instId: 'ETH-USDT-SWAP', source: 'schedule' }), run('c', { status: 'failed', decision: { action: 'hold', instId: 'BTC-USDT-SWAP', confidence: 50, reason: 'range' } })];
  it('filters by instrument, source, status and decision (runs without a decision drop out of a decision filter)', () => {
    expect(filterRuns(runs, EMPTY_RUN_FILTER).map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(filterRuns(runs, { ...EMPTY_RUN_FILTER, instId: 'ETH-USDT-SWAP' }).map((r) => r.id)).toEqual(['b']);
    expect(filterRuns(runs, { ...EMPTY_RUN_FILTER, status: 'failed' }).map((r) => r.id)).toEqual(['c']);
    expect(filterRuns(runs, { ...EMPTY_RUN_FILTER, decision: 'open_long' }).map((r) => r.id)).toEqual(['a']);
  });
  it('pages, clamping the page number', () => {
    const rows = Array.from({ length: 51 }, (_, i) => i);
    expect(pageOf(rows, 0, 25)).toMatchObject({ pages: 3, page: 0 });
    expect(pageOf(rows, 9, 25)).toEqual({ rows: [50], pages: 3, page: 2 });
    expect(pageOf([], 0, 25)).toEqual({ rows: [], pages: 1, page: 0 });
  });
});

describe('chat tool results as tables', () => {
  it('a list of records (or an object holding one) becomes columns and rows', () => {
    expect(toolTable('{"positions": [{"instId": "BTC-USDT-SWAP", "pos": "1"}, {"instId": "ETH-USDT-SWAP", "upl": -2}]}')).toEqual({
      columns: ['instId', 'pos', 'upl'], rows: [['BTC-USDT-SWAP', '1', '—'], ['ETH-USDT-SWAP', '—', '-2']], more: 0,
    });
    expect(toolTable([{ a: 1 }, { a: 2 }, { a: 3 }], 2)).toEqual({ columns: ['a'], rows: [['1'], ['2']], more: 1 });
  });
  it('a flat record becomes key / value; anything else stays JSON', () => {
    expect(toolTable({ instId: 'BTC-USDT-SWAP', last: '65000' })).toEqual({ columns: ['key', 'value'], rows: [['instId', 'BTC-USDT-SWAP'], ['last', '65000']], more: 0 });
    expect(toolTable('not json')).toBeNull();
    expect(toolTable({ nested: { a: 1 } })).toBeNull();
    expect(toolTable([])).toBeNull();
  });
});

describe('chart markers', () => {
  const bars = [0, 60_000, 120_000].map((ts) => ({ ts, open: 1, high: 1, low: 1, close: 1 }));
  it('fills of the instrument become one marker per bar and side, with the count; others are left out', () => {
    const at = (ms: number) => new Date(ms).toISOString();
    const fills = [
      { instId: 'BTC-USDT-SWAP', side: 'buy', filledAt: at(61_000) }, { instId: 'BTC-USDT-SWAP', side: 'buy', filledAt: at(119_000) },
      { instId: 'BTC-USDT-SWAP', side: 'sell', filledAt: at(130_000) }, { instId: 'ETH-USDT-SWAP', side: 'buy', filledAt: at(61_000) },
      { instId: 'BTC-USDT-SWAP', side: 'sell', filledAt: at(999_000) }, // after the last bar
    ];
    expect(toFillMarkers(fills, 'BTC-USDT-SWAP', bars, 60_000)).toEqual([{ ts: 60_000, side: 'buy', count: 2 }, { ts: 120_000, side: 'sell', count: 1 }]);
  });
  it('many runs in one bar become one marker with the count (failed ones apart)', () => {
    const run = (runId: string, status: string, source: 'volatility' | 'schedule' = 'volatility') => ({ ts: 60_000, source, status, runId });
    expect(groupRunMarkers([run('a', 'succeeded'), run('b', 'succeeded'), run('c', 'failed'), run('d', 'succeeded', 'schedule')]).map((m) => [m.source, m.status, m.count]))
      .toEqual([['volatility', 'succeeded', 2], ['volatility', 'failed', 1], ['schedule', 'succeeded', 1]]);
  });
});
