import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyTick, barMs, toCandlePoints, toChartSeconds, toEquityPoints, toRunMarkers, type CandlePoint } from '../../../src/lib/chart-data.ts';

const MIN3 = 180_000;
const bar = (ts: number, close: number): CandlePoint => ({ ts, open: close, high: close, low: close, close });

describe('bars', () => {
  it('knows OKX bar lengths (m is minutes, M months)', () => {
    expect(barMs('3m')).toBe(MIN3);
    expect(barMs('1H')).toBe(3_600_000);
    expect(barMs('1Dutc')).toBe(86_400_000);
    expect(barMs('1M')).toBe(2_592_000_000);
    expect(barMs('3x')).toBeNull();
    expect(barMs(undefined)).toBeNull();
  });
});

describe('candles', () => {
  it('sorts ascending, keeps one per time and drops broken rows', () => {
    const points = toCandlePoints([
      { ts: '360000', o: '2', h: '3', l: '1', c: '2.5' },
      { ts: '180000', o: '1', h: '1', l: '1', c: '1' },
      { ts: '360000', o: '2', h: '4', l: '1', c: '3' },
      { ts: 'x', o: '1', h: '1', l: '1', c: '1' },
      { ts: '540000', o: '', h: '1', l: '1', c: '1' },
    ]);
    expect(points).toEqual([
      { ts: 180000, open: 1, high: 1, low: 1, close: 1 },
      { ts: 360000, open: 2, high: 4, low: 1, close: 3 },
    ]);
  });

  it('moves the last bar with live ticks and opens a new bar when the tick is past it', () => {
    const candles = [bar(0, 100), bar(MIN3, 101)];
    const updated = applyTick(candles, 105, MIN3 + 1000, MIN3);
    expect(updated[1]).toEqual({ ts: MIN3, open: 101, high: 105, low: 101, close: 105 });
    const lower = applyTick(updated, 99, MIN3 + 2000, MIN3);
    expect(lower[1]).toEqual({ ts: MIN3, open: 101, high: 105, low: 99, close: 99 });
    const next = applyTick(lower, 98, 2 * MIN3 + 5, MIN3);
    expect(next).toHaveLength(3);
    expect(next[2]).toEqual({ ts: 2 * MIN3, open: 98, high: 98, low: 98, close: 98 });
    const skipped = applyTick(lower, 97, 5 * MIN3 + 5, MIN3);
    expect(skipped[2]!.ts).toBe(5 * MIN3);
    expect(applyTick(candles, 50, -1, MIN3)).toBe(candles); // older than the last bar
    expect(applyTick([], 50, 1, MIN3)).toEqual([]);
    expect(applyTick(candles, Number.NaN, MIN3 + 1, MIN3)).toBe(candles);
  });

  it('keeps candles ascending and high ≥ close ≥ low under any tick sequence', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: 1, max: 1e5, noNaN: true }), fc.nat({ max: 10 * MIN3 })), { maxLength: 50 }), (ticks) => {
        let candles = [bar(0, 100)];
        let clock = 0;
        for (const [price, step] of ticks) {
          clock += step;
          candles = applyTick(candles, price, clock, MIN3);
        }
        for (let i = 0; i < candles.length; i++) {
          const c = candles[i]!;
          expect(c.high).toBeGreaterThanOrEqual(Math.max(c.open, c.close));
          expect(c.low).toBeLessThanOrEqual(Math.min(c.open, c.close));
          expect(c.ts % MIN3).toBe(0);
          if (i > 0) expect(c.ts).toBeGreaterThan(candles[i - 1]!.ts);
        }
      }),
    );
  });
});

describe('equity points', () => {
  it('one point per second, ascending, plus the live balance when newer', () => {
    const points = toEquityPoints(
      [
        { totalEq: '10010', ts: '2026-01-01T00:01:00.900Z' },
        { totalEq: '10000', ts: '2026-01-01T00:00:00Z' },
        { totalEq: '10020', ts: '2026-01-01T00:01:00.100Z' },
        { totalEq: 'bad', ts: '2026-01-01T00:02:00Z' },
      ],
      { totalEq: '10030.5', ts: Date.UTC(2026, 0, 1, 0, 5) },
    );
    expect(points).toEqual([
      { ts: Date.UTC(2026, 0, 1, 0, 0), value: 10000 },
      { ts: Date.UTC(2026, 0, 1, 0, 1), value: 10020 },
      { ts: Date.UTC(2026, 0, 1, 0, 5), value: 10030.5 },
    ]);
    expect(toEquityPoints([{ totalEq: '1', ts: '2026-01-01T00:00:00Z' }], { totalEq: '2', ts: Date.UTC(2025, 0, 1) })).toHaveLength(1);
  });
});

describe('run markers', () => {
  it('sit on the bar the run was triggered in, only within the chart, ascending', () => {
    const candles = [bar(0, 1), bar(MIN3, 1), bar(2 * MIN3, 1)];
    const markers = toRunMarkers(
      [
        { id: 'late', source: 'manual', status: 'succeeded', triggeredAt: new Date(2 * MIN3 + 10_000).toISOString() },
        { id: 'mid', source: 'volatility', status: 'failed', triggeredAt: new Date(MIN3 + 179_999).toISOString() },
        { id: 'before', source: 'schedule', status: 'succeeded', triggeredAt: new Date(-1).toISOString() },
        { id: 'after', source: 'schedule', status: 'succeeded', triggeredAt: new Date(3 * MIN3).toISOString() },
        { id: 'odd', source: 'other', status: 'succeeded', triggeredAt: new Date(0).toISOString() },
      ],
      candles,
      MIN3,
    );
    expect(markers).toEqual([
      { ts: MIN3, source: 'volatility', status: 'failed', runId: 'mid' },
      { ts: 2 * MIN3, source: 'manual', status: 'succeeded', runId: 'late' },
    ]);
    expect(toRunMarkers([{ id: 'x', source: 'manual', status: 'running', triggeredAt: '1970-01-01T00:00:00Z' }], [], MIN3)).toEqual([]);
  });

  it('shifts chart time by the browser offset', () => {
    expect(toChartSeconds(3_600_000, -480)).toBe(3600 + 480 * 60);
    expect(toChartSeconds(1999, 0)).toBe(1);
  });
});
