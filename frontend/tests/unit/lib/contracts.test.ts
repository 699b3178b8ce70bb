import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { contractsToUsdt, usdtToContracts, type InstrumentSpec } from '../../../src/lib/contracts.ts';
import { add, compare, isMultipleOf, mul, parseDecimal } from '../../../src/lib/decimal.ts';

// recorded BTC-USDT-SWAP specs (OKX_FACTS): ctVal 0.01 BTC, lotSz 0.1, minSz 0.1
const BTC: InstrumentSpec = { ctVal: '0.01', lotSz: '0.1', minSz: '0.1', ctType: 'linear', ctValCcy: 'BTC' };
const LTC: InstrumentSpec = { ctVal: '0.001', lotSz: '1', minSz: '1', ctType: 'linear', ctValCcy: 'LTC' };
const BTC_USD: InstrumentSpec = { ctVal: '100', lotSz: '1', minSz: '1', ctType: 'inverse', ctValCcy: 'USD' };

describe('contracts → USDT', () => {
  it('linear: sz × ctVal × price', () => {
    expect(contractsToUsdt('2', '50000', BTC)).toEqual({ ok: true, contracts: '2', notionalUsdt: '1000' });
    expect(contractsToUsdt('0.3', '31807.4', BTC)).toEqual({ ok: true, contracts: '0.3', notionalUsdt: '95.4222' });
    expect(contractsToUsdt('1', '68.24', LTC)).toEqual({ ok: true, contracts: '1', notionalUsdt: '0.06824' });
  });
  it('inverse: sz × ctVal USD', () => {
    expect(contractsToUsdt('3', '50000', BTC_USD)).toEqual({ ok: true, contracts: '3', notionalUsdt: '300' });
  });
  it('refuses sizes OKX would refuse', () => {
    expect(contractsToUsdt('0.05', '50000', BTC)).toMatchObject({ ok: false, error: 'notLotMultiple', lotSz: '0.1' });
    expect(contractsToUsdt('0', '50000', BTC)).toMatchObject({ ok: false, error: 'invalidSize' });
    expect(contractsToUsdt('abc', '50000', BTC)).toMatchObject({ ok: false, error: 'invalidSize' });
    expect(contractsToUsdt('1', '', BTC)).toMatchObject({ ok: false, error: 'invalidPrice' });
    expect(contractsToUsdt('1', '1', { ctVal: '0', lotSz: '1', minSz: '1' })).toMatchObject({ ok: false, error: 'invalidSpec' });
    expect(contractsToUsdt('1', '100', { ctVal: '1', lotSz: '1', minSz: '2' })).toMatchObject({ ok: false, error: 'belowMin', minSz: '2' });
  });
});

describe('USDT → contracts', () => {
  it('rounds down to the lot and reports the real notional', () => {
    expect(usdtToContracts('1000', '50000', BTC)).toEqual({ ok: true, contracts: '2', notionalUsdt: '1000' });
    expect(usdtToContracts('1234', '50000', BTC)).toEqual({ ok: true, contracts: '2.4', notionalUsdt: '1200' });
    expect(usdtToContracts('250', '50000', BTC_USD)).toEqual({ ok: true, contracts: '2', notionalUsdt: '200' });
  });
  it('refuses amounts below one minimum order', () => {
    expect(usdtToContracts('40', '50000', BTC)).toMatchObject({ ok: false, error: 'belowMin', minSz: '0.1', contracts: '0' });
    expect(usdtToContracts('-5', '50000', BTC)).toMatchObject({ ok: false, error: 'invalidSize' });
    expect(usdtToContracts('100', '0', BTC)).toMatchObject({ ok: false, error: 'invalidPrice' });
  });

  const price = fc.integer({ min: 1, max: 10_000_000 }).map((n) => (n / 10).toString());
  const notional = fc.integer({ min: 1, max: 100_000_000 }).map((n) => (n / 100).toString());
  const spec = fc.constantFrom(BTC, LTC, BTC_USD, { ctVal: '10', lotSz: '0.01', minSz: '0.01', ctType: 'linear' });

  it('never exceeds the amount asked, is a lot multiple, and one more lot would exceed it', () => {
    fc.assert(
      fc.property(notional, price, spec, (usdt, px, s) => {
        const result = usdtToContracts(usdt, px, s);
        const perContract = s.ctType === 'inverse' ? parseDecimal(s.ctVal)! : mul(parseDecimal(s.ctVal)!, parseDecimal(px)!);
        if (!result.ok) {
          expect(result.error).toBe('belowMin');
          // even the minimum costs more than asked
          expect(compare(mul(parseDecimal(s.minSz)!, perContract), parseDecimal(usdt)!)).toBe(1);
          return;
        }
        const sz = parseDecimal(result.contracts)!;
        expect(isMultipleOf(sz, parseDecimal(s.lotSz)!)).toBe(true);
        expect(compare(parseDecimal(result.notionalUsdt)!, parseDecimal(usdt)!)).toBeLessThanOrEqual(0);
        expect(compare(mul(add(sz, parseDecimal(s.lotSz)!), perContract), parseDecimal(usdt)!)).toBe(1);
        // and converting back gives the same notional
        expect(contractsToUsdt(result.contracts, px, s)).toEqual(result);
      }),
    );
  });
});
