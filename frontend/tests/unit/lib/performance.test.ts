import { describe, expect, it } from 'vitest';
import { byOrigin, closedPositionsCsv, dailyPnl, inPeriod, maxDrawdown, performanceStats, periodStart, toCsv } from '../../../src/lib/performance.ts';
import type { PositionRecord } from '../../../src/api/types.ts';

const closed = (realizedPnl: string | null, closedAt = '2026-12-01T10:00:00Z', over: Partial<PositionRecord> = {}): PositionRecord => ({
  id: 1, instId: 'BTC-USDT-SWAP', posSide: 'net', pos: '1', posId: 'p', mgnMode: 'cross', avgPx: '50000', lever: '3', realizedPnl, closedAt,
  openedAt: '2026-12-01T09:00:00Z', closeReason: 'closed_by_us', closeOrigin: 'manual', closeRunId: null, closeDetail: null, closeOrdId: null,
  slTriggerPx: null, tpTriggerPx: null, state: 'closed', updatedAt: closedAt, ...over,
});

describe('performance statistics', () => {
  it('win rate, profit factor, realised PnL and fees from closed positions and fills', () => {
    const stats = performanceStats([closed('30'), closed('-10'), closed('20.5'), closed('0')], [{ fee: '-0.25' }, { fee: '-0.5' }, { fee: null }]);
    expect(stats).toEqual({
      trades: 4, wins: 2, losses: 1, winRate: 0.5, realizedPnl: '40.50', grossProfit: '50.50', grossLoss: '-10.00', profitFactor: 5.05, fees: '-0.7500',
    });
  });
  it('no loss: profit factor is infinite; no trades: nothing to divide', () => {
    expect(performanceStats([closed('5')], []).profitFactor).toBe(Infinity);
    expect(performanceStats([], [])).toMatchObject({ trades: 0, winRate: null, profitFactor: null, realizedPnl: '0.00' });
  });
  it('max drawdown is the largest fall from a running peak', () => {
    const points = [100, 120, 90, 130, 104, 125].map((value, i) => ({ ts: i * 1000, value }));
    expect(maxDrawdown(points)).toEqual({ amount: 30, pct: 0.25, peakTs: 1000, troughTs: 2000 });
    expect(maxDrawdown([{ ts: 0, value: 1 }, { ts: 1, value: 2 }]).amount).toBe(0);
  });
  it('groups fills by origin (AI analysis, chat, MCP, manual)', () => {
    const rows = byOrigin([
      { origin: 'agent:run:r1', fillPnl: '10', fee: '-0.1' }, { origin: 'agent', fillPnl: '-2', fee: '-0.1' },
      { origin: 'agent:chat:c1', fillPnl: '1', fee: '-0.05' }, { origin: 'manual', fillPnl: null, fee: '-0.2' }, { origin: 'mcp:desk', fillPnl: '3', fee: '0' },
    ]);
    expect(rows).toEqual([
      { group: 'analysis', fills: 2, pnl: '8.00', fees: '-0.2000' },
      { group: 'chat', fills: 1, pnl: '1.00', fees: '-0.0500' },
      { group: 'mcp', fills: 1, pnl: '3.00', fees: '0.0000' },
      { group: 'manual', fills: 1, pnl: '0.00', fees: '-0.2000' },
    ]);
  });
  it('daily PnL per calendar day of the given time zone, newest first', () => {
    const days = dailyPnl([closed('5', '2026-12-01T23:30:00Z'), closed('-2', '2026-12-02T00:30:00Z'), closed('1', '2026-12-02T10:00:00Z')], 'UTC');
    expect(days).toEqual([{ day: '2026-12-02', pnl: '-1.00', trades: 2 }, { day: '2026-12-01', pnl: '5.00', trades: 1 }]);
    // in Shanghai (UTC+8) the first two fall on 2 December
    expect(dailyPnl([closed('5', '2026-12-01T23:30:00Z'), closed('-2', '2026-12-02T00:30:00Z')], 'Asia/Shanghai')).toEqual([{ day: '2026-12-02', pnl: '3.00', trades: 2 }]);
  });
  it('periods', () => {
    const now = Date.parse('2026-12-02T00:00:00Z');
    expect(periodStart('all', now)).toBeNull();
    expect(inPeriod('2026-12-01T01:00:00Z', periodStart('1d', now))).toBe(true);
    expect(inPeriod('2026-11-30T23:00:00Z', periodStart('1d', now))).toBe(false);
    expect(inPeriod(null, null)).toBe(false);
  });
  it('CSV quotes what needs quoting', () => {
    expect(toCsv(['a', 'b'], [['x,y', 'say "hi"'], [null, 3]])).toBe('a,b\r\n"x,y","say ""hi"""\r\n,3\r\n');
    const csv = closedPositionsCsv([closed('12.5')]);
    expect(csv.split('\r\n')[0]).toBe('closedAt,openedAt,instId,posSide,pos,avgPx,lever,realizedPnl,closeReason,closeOrigin,closeRunId');
    expect(csv.split('\r\n')[1]).toBe('2026-12-01T10:00:00Z,2026-12-01T09:00:00Z,BTC-USDT-SWAP,net,1,50000,3,12.5,closed_by_us,manual,');
  });
});
