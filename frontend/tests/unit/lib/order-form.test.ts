import { describe, expect, it } from 'vitest';
import { buildOrder, type OrderForm } from '../../../src/lib/order-form.ts';

const BTC = { ctVal: '0.01', lotSz: '0.1', minSz: '0.1', ctType: 'linear', ctValCcy: 'BTC' };
const form = (over: Partial<OrderForm> = {}): OrderForm => ({
  instId: 'BTC-USDT-SWAP', side: 'buy', sizeUnit: 'contracts', size: '1', ordType: 'market', px: '', leverage: '', tpTriggerPx: '', slTriggerPx: '', ...over,
});

describe('manual order form', () => {
  it('sends a market order in contracts with optional leverage and TP/SL', () => {
    expect(buildOrder(form({ leverage: '5', tpTriggerPx: '55000', slTriggerPx: '48000' }), BTC, '50000')).toEqual({
      ok: true,
      contracts: '1',
      notionalUsdt: '500',
      request: { instId: 'BTC-USDT-SWAP', side: 'buy', ordType: 'market', sz: '1', leverage: 5, tpTriggerPx: '55000', slTriggerPx: '48000' },
    });
  });

  it('converts USDT to contracts at the limit price for a limit order', () => {
    const built = buildOrder(form({ sizeUnit: 'usdt', size: '1000', ordType: 'limit', px: '40000', side: 'sell' }), BTC, '50000');
    expect(built).toEqual({ ok: true, contracts: '2.5', notionalUsdt: '1000', request: { instId: 'BTC-USDT-SWAP', side: 'sell', ordType: 'limit', sz: '2.5', px: '40000' } });
  });

  it('names what is missing or wrong', () => {
    expect(buildOrder(form({ ordType: 'limit', px: '' }), BTC, '50000')).toMatchObject({ ok: false, error: { key: 'trade.err.priceRequired', field: 'px' } });
    expect(buildOrder(form(), undefined, '50000')).toMatchObject({ ok: false, error: { key: 'trade.err.invalidSpec' } });
    expect(buildOrder(form(), BTC, null)).toMatchObject({ ok: false, error: { key: 'trade.err.invalidPrice', field: 'px' } });
    expect(buildOrder(form({ size: '0.05' }), BTC, '50000')).toMatchObject({ ok: false, error: { key: 'trade.err.notLotMultiple', params: { lotSz: '0.1' } } });
    expect(buildOrder(form({ sizeUnit: 'usdt', size: '10' }), BTC, '50000')).toMatchObject({ ok: false, error: { key: 'trade.err.belowMin', params: { minSz: '0.1' } } });
    expect(buildOrder(form({ size: '' }), BTC, '50000')).toMatchObject({ ok: false, error: { key: 'trade.err.invalidSize', field: 'size' } });
  });

  it('leaves out empty TP/SL, and refuses a leverage that is not a whole number from 1 (it used to be dropped silently)', () => {
    const built = buildOrder(form({ tpTriggerPx: ' ', slTriggerPx: '-1' }), BTC, '50000');
    expect(built.ok && built.request).toEqual({ instId: 'BTC-USDT-SWAP', side: 'buy', ordType: 'market', sz: '1' });
    expect(buildOrder(form({ leverage: '2.5' }), BTC, '50000', 20)).toMatchObject({ ok: false, error: { key: 'trade.err.leverage', params: { max: '20' }, field: 'leverage' } });
    expect(buildOrder(form({ leverage: '0' }), BTC, '50000')).toMatchObject({ ok: false, error: { key: 'trade.err.leverage', field: 'leverage' } });
    // above the guard's maximum is the guard's to refuse (the form only warns), so the order is built
    expect(buildOrder(form({ leverage: '50' }), BTC, '50000', 20)).toMatchObject({ ok: true, request: { leverage: 50 } });
  });

  it('catches prices off the tick size before submit (limit price, TP and SL)', () => {
    const spec = { ...BTC, tickSz: '0.1' };
    expect(buildOrder(form({ ordType: 'limit', px: '50000.05' }), spec, '50000')).toMatchObject({ ok: false, error: { key: 'trade.err.offTick', params: { tickSz: '0.1' }, field: 'px' } });
    expect(buildOrder(form({ tpTriggerPx: '55000.01' }), spec, '50000')).toMatchObject({ ok: false, error: { key: 'trade.err.offTick', field: 'tpTriggerPx' } });
    expect(buildOrder(form({ slTriggerPx: '48000.33' }), spec, '50000')).toMatchObject({ ok: false, error: { key: 'trade.err.offTick', field: 'slTriggerPx' } });
    // a market order's unused price field is not checked; on-tick prices pass
    expect(buildOrder(form({ px: '1.23456', tpTriggerPx: '55000.1', slTriggerPx: '48000' }), spec, '50000')).toMatchObject({ ok: true });
  });

  it('sends isolated margin and reduce-only when chosen, nothing when not', () => {
    expect(buildOrder(form({ tdMode: 'isolated', reduceOnly: true }), BTC, '50000')).toMatchObject({ ok: true, request: { tdMode: 'isolated', reduceOnly: true } });
    const plain = buildOrder(form({ tdMode: 'cross', reduceOnly: false }), BTC, '50000');
    expect(plain.ok && plain.request).toEqual({ instId: 'BTC-USDT-SWAP', side: 'buy', ordType: 'market', sz: '1' });
  });
});
