// Order size conversion between contracts and USDT notional with the instrument's specs.
// Linear swaps (BTC-USDT-SWAP): one contract is ctVal of the base coin, notional = sz × ctVal × price.
// Inverse swaps (BTC-USD-SWAP): one contract is ctVal USD, notional = sz × ctVal.
import { type Decimal, compare, div, floorToStep, isMultipleOf, mul, parseDecimal, sign, toString } from './decimal.ts';

export interface InstrumentSpec {
  ctVal: string;
  lotSz: string;
  minSz: string;
  ctType?: string | null;
  ctValCcy?: string | null;
}

export type SizeError = 'invalidSize' | 'invalidPrice' | 'invalidSpec' | 'belowMin' | 'notLotMultiple';

export type SizeResult =
  | { ok: true; contracts: string; notionalUsdt: string }
  | { ok: false; error: SizeError; minSz?: string; lotSz?: string; contracts?: string };

function isInverse(spec: InstrumentSpec): boolean {
  if (spec.ctType) return spec.ctType === 'inverse';
  return spec.ctValCcy === 'USD' || spec.ctValCcy === 'USDT';
}

interface ParsedSpec {
  ctVal: Decimal;
  lotSz: Decimal;
  minSz: Decimal;
}

function parseSpec(spec: InstrumentSpec): ParsedSpec | null {
  const ctVal = parseDecimal(spec.ctVal);
  const lotSz = parseDecimal(spec.lotSz);
  const minSz = parseDecimal(spec.minSz);
  if (!ctVal || !lotSz || !minSz || sign(ctVal) <= 0 || sign(lotSz) <= 0 || sign(minSz) < 0) return null;
  return { ctVal, lotSz, minSz };
}

/** USDT value of one contract at `price`. */
function contractValue(spec: InstrumentSpec, parsed: ParsedSpec, price: Decimal): Decimal {
  return isInverse(spec) ? parsed.ctVal : mul(parsed.ctVal, price);
}

/** USDT notional of `contracts` at `price`. */
export function contractsToUsdt(contracts: string, price: string, spec: InstrumentSpec): SizeResult {
  const parsed = parseSpec(spec);
  if (!parsed) return { ok: false, error: 'invalidSpec' };
  const sz = parseDecimal(contracts);
  if (!sz || sign(sz) <= 0) return { ok: false, error: 'invalidSize' };
  const px = parseDecimal(price);
  if (!px || sign(px) <= 0) return { ok: false, error: 'invalidPrice' };
  if (!isMultipleOf(sz, parsed.lotSz)) return { ok: false, error: 'notLotMultiple', lotSz: spec.lotSz };
  if (compare(sz, parsed.minSz) < 0) return { ok: false, error: 'belowMin', minSz: spec.minSz };
  return { ok: true, contracts: toString(sz), notionalUsdt: toString(mul(sz, contractValue(spec, parsed, px))) };
}

/**
 * Contracts for a USDT notional at `price`: rounded down to a multiple of lotSz (never more than
 * asked), refused below minSz. The notional returned is what those contracts are really worth.
 */
export function usdtToContracts(notionalUsdt: string, price: string, spec: InstrumentSpec): SizeResult {
  const parsed = parseSpec(spec);
  if (!parsed) return { ok: false, error: 'invalidSpec' };
  const notional = parseDecimal(notionalUsdt);
  if (!notional || sign(notional) <= 0) return { ok: false, error: 'invalidSize' };
  const px = parseDecimal(price);
  if (!px || sign(px) <= 0) return { ok: false, error: 'invalidPrice' };
  const perContract = contractValue(spec, parsed, px);
  const lotScale = Math.max(parsed.lotSz.scale, 0);
  const raw = div(notional, perContract, lotScale + 8, 'down');
  if (!raw) return { ok: false, error: 'invalidSpec' };
  const sz = floorToStep(raw, parsed.lotSz);
  if (sign(sz) <= 0 || compare(sz, parsed.minSz) < 0) {
    return { ok: false, error: 'belowMin', minSz: spec.minSz, contracts: toString(sz) };
  }
  return { ok: true, contracts: toString(sz), notionalUsdt: toString(mul(sz, perContract)) };
}
