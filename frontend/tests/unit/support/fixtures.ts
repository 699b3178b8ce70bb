// Canned API answers for the component tests, typed with the generated schema types (so they cannot
// drift from the schema the app is built on) plus the interface-3 extensions where a test needs them.
import type { ApprovalView, RunView } from '../../../src/api/extensions.ts';
import type { Fill, Instrument, Order, PositionRecord, RiskStatus, SchedulerStatus } from '../../../src/api/types.ts';

export const BTC = 'BTC-USDT-SWAP';
export const ETH = 'ETH-USDT-SWAP';

export const instruments: Instrument[] = [
  { instId: BTC, instType: 'SWAP', ctVal: '0.01', ctValCcy: 'BTC', ctMult: '1', ctType: 'linear', lotSz: '0.1', minSz: '0.1', tickSz: '0.1', lever: '100', settleCcy: 'USDT', state: 'live' },
  { instId: ETH, instType: 'SWAP', ctVal: '0.1', ctValCcy: 'ETH', ctMult: '1', ctType: 'linear', lotSz: '1', minSz: '1', tickSz: '0.01', lever: '100', settleCcy: 'USDT', state: 'live' },
];

export const scheduler: SchedulerStatus = {
  agentTimeoutSecs: 120, analysisRunning: false, consecutiveFailures: 0, instruments: [], intervalSecs: 3600, isLeader: true, leaderId: 'a',
  maxConsecutiveFailures: 3, paused: false, pausedBy: null, pausedReason: null, pending: 0, running: false, runningInstId: null,
  scheduleEnabled: true, thresholdBps: 80, volTriggerEnabled: true, windowSecs: 300,
};

export const risk: RiskStatus = {
  limits: { allowedInstIds: [BTC, ETH], approvalMode: 'manual', dailyLossLimitPct: '5', maxExposurePct: '50', maxLeverage: '20', maxOrderPct: '25', requireStopLoss: true },
  state: {
    dailyLossLatched: false, day: '2026-12-01', dayLoss: '120', dayStartEquity: '10000', equity: '9880', latchedAt: null, maxDayLoss: '500',
    openExposure: '2000', openExposureByInst: { [BTC]: '2000' }, reopensAt: null, resetAt: null,
  },
};

const runBase = { orders: [], toolCalls: [], finishedAt: '2026-12-01T10:00:20Z', startedAt: '2026-12-01T10:00:00Z', costUsd: null, summary: 'BTC dipped.' };
/** One run with the interface-3 fields (decision, provider, model, an order with approval), one without (older records). */
export const runs: RunView[] = [
  {
    ...runBase, id: 'run-new', instId: BTC, source: 'volatility', status: 'succeeded', triggeredAt: '2026-12-01T10:00:00Z',
    triggerPrice: '64978.9', baselinePrice: '65192.3', deviationBps: 32.73, provider: 'deepseek', model: 'deepseek-chat',
    decision: { action: 'open_short', instId: BTC, size: '0.5', entry: '64978.9', stop: '65500', target: '63000', invalidation: 'close above 65,500', confidence: 72, reason: 'Breakdown below the range.' },
    orders: [{ tool: 'place_order', side: 'sell', ordType: 'market', sz: '0.5', avgPx: '64970.1', state: 'filled', approvalStatus: 'approved', origin: 'agent:run:run-new', slTriggerPx: '65500', tpTriggerPx: '63000' }],
  },
  { ...runBase, id: 'run-old', instId: ETH, source: 'schedule', status: 'failed', triggeredAt: '2026-12-01T09:00:00Z', triggerPrice: '3010', baselinePrice: '3000', deviationBps: 33.3, error: 'agent unreachable', summary: null },
];

export const approvals: ApprovalView[] = [
  {
    id: 7, clOrdId: 'ap7', createdAt: '2026-12-01T10:00:10Z', decidedAt: null, detail: null, instId: BTC, kind: 'order', runId: 'run-new', status: 'pending',
    origin: 'agent:run:run-new',
    request: { side: 'sell', ordType: 'limit', px: '65000', sz: '0.5', leverage: 3, tpTriggerPx: '63000', slTriggerPx: '65500', reason: 'Breakdown below the range.' },
  },
];

const position = (id: number, realizedPnl: string, closedAt: string, closeOrigin: string): PositionRecord => ({
  id, instId: BTC, posSide: 'net', pos: '1', posId: `p${id}`, mgnMode: 'cross', avgPx: '65000', lever: '3', realizedPnl, closedAt, openedAt: closedAt,
  closeReason: 'closed_by_us', closeOrigin, closeRunId: null, closeDetail: null, closeOrdId: null, slTriggerPx: null, tpTriggerPx: null, state: 'closed', updatedAt: closedAt,
});

/** Closed positions around `now`: three in the last day (two won, one lost), one a month ago. */
export function closedPositions(now: number): PositionRecord[] {
  const at = (ms: number) => new Date(now - ms).toISOString();
  return [
    position(1, '30', at(3_600_000), 'agent:run:r1'),
    position(2, '-10', at(7_200_000), 'manual'),
    position(3, '20', at(10_800_000), 'agent:chat:c1'),
    position(4, '-100', at(40 * 86_400_000), 'manual'),
  ];
}

export function fills(now: number): Fill[] {
  const at = (ms: number) => new Date(now - ms).toISOString();
  const fill = (tradeId: string, origin: string, fillPnl: string, ms: number): Fill => ({
    billId: tradeId, clOrdId: tradeId, execType: 'T', fee: '-0.5', feeCcy: 'USDT', fillPnl, fillPx: '65000', fillSz: '1', filledAt: at(ms), instId: BTC,
    ordId: tradeId, origin, posSide: 'net', runId: null, side: 'sell', tradeId,
  });
  return [fill('t1', 'agent:run:r1', '30', 3_600_000), fill('t2', 'manual', '-10', 7_200_000), fill('t3', 'agent:chat:c1', '20', 10_800_000)];
}

export const noOrders: Order[] = [];
