// Strategy-monitor arithmetic: live deviation from the baseline and how full the threshold bar is.
import { div, mul, parseDecimal, sign, sub, toNumber } from './decimal.ts';
import { parseTime } from './format.ts';

/** (price − baseline) ÷ baseline in basis points; null without both numbers or with a zero baseline. */
export function deviationBps(price: string | null | undefined, baseline: string | null | undefined): number | null {
  const p = parseDecimal(price);
  const b = parseDecimal(baseline);
  if (!p || !b || sign(b) === 0) return null;
  const bps = div(mul(sub(p, b), { coef: 10_000n, scale: 0 }), b, 4);
  return bps ? toNumber(bps) : null;
}

/** Share of the threshold used by |deviation|, 0..1 (1 = would trigger). */
export function thresholdFill(deviation: number | null, thresholdBps: number): number {
  if (deviation === null || !Number.isFinite(deviation) || !(thresholdBps > 0)) return 0;
  // full exactly when the scheduler would trigger (division could round just below it up to 1)
  if (Math.abs(deviation) >= thresholdBps) return 1;
  return Math.min(0.9999, Math.abs(deviation) / thresholdBps);
}

/** Whether a move of `deviation` bps triggers at `thresholdBps` (the scheduler's rule: Δ ≥ threshold). */
export function crossesThreshold(deviation: number | null, thresholdBps: number): boolean {
  return deviation !== null && Math.abs(deviation) >= thresholdBps;
}

/** Milliseconds a run took, or how long it has been running (`nowMs`). */
export function runDurationMs(triggeredAt: string | null | undefined, finishedAt: string | null | undefined, nowMs: number): number | null {
  const start = parseTime(triggeredAt ?? null);
  if (start === null) return null;
  const end = parseTime(finishedAt ?? null) ?? nowMs;
  return Math.max(0, end - start);
}

/**
 * A run's signed deviation in bp: from its trigger and baseline prices when both are known (the stored
 * `deviationBps` is the size of the move only, always ≥ 0), else the stored number.
 */
export function runDeviationBps(run: { triggerPrice?: string | null; baselinePrice?: string | null; deviationBps?: number | null }): number | null {
  return deviationBps(run.triggerPrice, run.baselinePrice) ?? run.deviationBps ?? null;
}
