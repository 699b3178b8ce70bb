import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { accountPnl, validateInitialEquity } from '../../../src/lib/pnl.ts';
import { add, compare, parseDecimal } from '../../../src/lib/decimal.ts';

const money = fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 14n }), fc.integer({ min: 0, max: 8 })).map(([coef, scale]) => {
  const digits = coef.toString().padStart(scale + 1, '0');
  return scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
});

describe('accountPnl', () => {
  it('measures against the initial equity', () => {
    expect(accountPnl('10500', '10000')).toEqual({ pnl: '500', pnlPct: '5.00', direction: 1 });
    expect(accountPnl('9876.54', '10000')).toEqual({ pnl: '-123.46', pnlPct: '-1.23', direction: -1 });
    expect(accountPnl('10000', '10000.00')).toEqual({ pnl: '0', pnlPct: '0.00', direction: 0 });
    expect(accountPnl('0.3', '0.1')?.pnl).toBe('0.2'); // not 0.19999999999999998
    expect(accountPnl('100', '3', 4)?.pnlPct).toBe('3233.3333');
  });

  it('has no percentage against a zero initial equity, and nothing without inputs', () => {
    expect(accountPnl('100', '0')).toEqual({ pnl: '100', pnlPct: null, direction: 1 });
    expect(accountPnl(null, '100')).toBeNull();
    expect(accountPnl('100', undefined)).toBeNull();
    expect(accountPnl('abc', '100')).toBeNull();
  });

  it('pnl + initial = equity exactly, and the percentage has the sign of the pnl', () => {
    fc.assert(
      fc.property(money, money.filter((m) => parseDecimal(m)!.coef !== 0n), (equity, initial) => {
        const result = accountPnl(equity, initial)!;
        expect(compare(add(parseDecimal(result.pnl)!, parseDecimal(initial)!), parseDecimal(equity)!)).toBe(0);
        const pct = parseDecimal(result.pnlPct)!;
        if (pct.coef !== 0n) expect(Math.sign(Number(pct.coef))).toBe(result.direction);
      }),
    );
  });
});

describe('validateInitialEquity', () => {
  it('accepts plain non-negative numbers', () => {
    expect(validateInitialEquity('10000')).toEqual({ ok: true, amount: 10000 });
    expect(validateInitialEquity(' 2500.5 ')).toEqual({ ok: true, amount: 2500.5 });
    expect(validateInitialEquity('0')).toEqual({ ok: true, amount: 0 });
  });
  it('names what is wrong', () => {
    expect(validateInitialEquity('')).toEqual({ ok: false, error: 'required' });
    expect(validateInitialEquity('ten')).toEqual({ ok: false, error: 'notNumber' });
    expect(validateInitialEquity('1e5')).toEqual({ ok: false, error: 'notNumber' });
    expect(validateInitialEquity('-5')).toEqual({ ok: false, error: 'negative' });
  });
});
