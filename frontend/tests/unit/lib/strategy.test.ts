import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { crossesThreshold, deviationBps, runDurationMs, thresholdFill } from '../../../src/lib/strategy.ts';

describe('deviation from the baseline', () => {
  it('is exact in basis points, signed', () => {
    expect(deviationBps('50400', '50000')).toBe(80);
    expect(deviationBps('49600', '50000')).toBe(-80);
    expect(deviationBps('50399.99', '50000')).toBe(79.9980);
    expect(deviationBps('1', '3')).toBe(-6666.6667);
    expect(deviationBps('1', '0')).toBeNull();
    expect(deviationBps(null, '1')).toBeNull();
  });

  it('crosses at exactly the threshold, like the scheduler (Δ ≥ threshold)', () => {
    expect(crossesThreshold(deviationBps('50400', '50000'), 80)).toBe(true);
    expect(crossesThreshold(deviationBps('49600', '50000'), 80)).toBe(true);
    expect(crossesThreshold(deviationBps('50399.99', '50000'), 80)).toBe(false);
    expect(crossesThreshold(null, 80)).toBe(false);
  });

  it('fills the threshold bar proportionally, capped at full', () => {
    expect(thresholdFill(40, 80)).toBe(0.5);
    expect(thresholdFill(-40, 80)).toBe(0.5);
    expect(thresholdFill(200, 80)).toBe(1);
    expect(thresholdFill(null, 80)).toBe(0);
    expect(thresholdFill(10, 0)).toBe(0);
    fc.assert(fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 1, max: 1000 }), (d, t) => {
      const fill = thresholdFill(d, t);
      return fill >= 0 && fill <= 1 && (fill === 1) === crossesThreshold(d, t);
    }));
  });
});

describe('run duration', () => {
  it('is finish minus trigger, or time running so far', () => {
    expect(runDurationMs('2026-01-01T00:00:00Z', '2026-01-01T00:00:12.5Z', 0)).toBe(12_500);
    expect(runDurationMs('2026-01-01T00:00:00Z', null, Date.UTC(2026, 0, 1, 0, 1))).toBe(60_000);
    expect(runDurationMs(null, null, 0)).toBeNull();
  });
});
