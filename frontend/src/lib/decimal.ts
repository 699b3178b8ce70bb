// Exact decimal arithmetic on the API's string numbers (OKX and our API send every amount as a
// string). Money is never turned into a float for maths; floats appear only where a chart needs
// a plotting coordinate.

/** A decimal value: coefficient × 10^-scale. */
export interface Decimal {
  readonly coef: bigint;
  readonly scale: number;
}

const DECIMAL_PATTERN = /^([+-])?(\d+)?(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Parses "123", "-0.05", ".5", "1e-3", " 42 ". Anything else (empty, NaN, "1,000") is null. */
export function parseDecimal(text: string | number | null | undefined): Decimal | null {
  if (text === null || text === undefined) return null;
  const source = typeof text === 'number' ? (Number.isFinite(text) ? String(text) : '') : text.trim();
  const match = DECIMAL_PATTERN.exec(source);
  if (!match) return null;
  const [, sign, whole = '', fraction = '', exponentText] = match;
  if (whole === '' && fraction === '') return null;
  let digits = (whole + fraction).replace(/^0+(?=\d)/, '');
  let scale = fraction.length - (exponentText ? Number(exponentText) : 0);
  if (scale < 0) {
    digits += '0'.repeat(-scale);
    scale = 0;
  }
  const coef = BigInt(digits === '' ? '0' : digits);
  return normalize({ coef: sign === '-' ? -coef : coef, scale });
}

/** Removes trailing zeros of the fraction so equal values compare and print the same. */
export function normalize(value: Decimal): Decimal {
  let { coef, scale } = value;
  while (scale > 0 && coef % 10n === 0n) {
    coef /= 10n;
    scale -= 1;
  }
  if (coef === 0n) scale = 0;
  return { coef, scale };
}

function align(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.coef * 10n ** BigInt(scale - a.scale), b.coef * 10n ** BigInt(scale - b.scale), scale];
}

export function add(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = align(a, b);
  return normalize({ coef: x + y, scale });
}

export function sub(a: Decimal, b: Decimal): Decimal {
  const [x, y, scale] = align(a, b);
  return normalize({ coef: x - y, scale });
}

export function mul(a: Decimal, b: Decimal): Decimal {
  return normalize({ coef: a.coef * b.coef, scale: a.scale + b.scale });
}

export function neg(a: Decimal): Decimal {
  return { coef: -a.coef, scale: a.scale };
}

export function abs(a: Decimal): Decimal {
  return a.coef < 0n ? neg(a) : a;
}

export function isZero(a: Decimal): boolean {
  return a.coef === 0n;
}

export function sign(a: Decimal): -1 | 0 | 1 {
  return a.coef === 0n ? 0 : a.coef < 0n ? -1 : 1;
}

export function compare(a: Decimal, b: Decimal): -1 | 0 | 1 {
  const [x, y] = align(a, b);
  return x === y ? 0 : x < y ? -1 : 1;
}

export type Rounding = 'half-up' | 'down' | 'up';

/** Integer division of bigints with the chosen rounding ('half-up' rounds half away from zero). */
function divideRounded(numerator: bigint, denominator: bigint, rounding: Rounding): bigint {
  if (denominator < 0n) return divideRounded(-numerator, -denominator, rounding);
  const quotient = numerator / denominator;
  const remainder = numerator % denominator;
  if (remainder === 0n) return quotient;
  const away = numerator < 0n ? -1n : 1n;
  if (rounding === 'down') return quotient;
  if (rounding === 'up') return quotient + away;
  const twice = (remainder < 0n ? -remainder : remainder) * 2n;
  return twice >= denominator ? quotient + away : quotient;
}

/** a ÷ b rounded to `scale` fraction digits; null when b is zero. */
export function div(a: Decimal, b: Decimal, scale: number, rounding: Rounding = 'half-up'): Decimal | null {
  if (b.coef === 0n) return null;
  // a.coef·10^-a.scale / (b.coef·10^-b.scale) = q·10^-scale  =>  q = a.coef·10^(scale - a.scale + b.scale) / b.coef
  const shift = scale - a.scale + b.scale;
  const numerator = shift >= 0 ? a.coef * 10n ** BigInt(shift) : a.coef;
  const denominator = shift >= 0 ? b.coef : b.coef * 10n ** BigInt(-shift);
  return normalize({ coef: divideRounded(numerator, denominator, rounding), scale });
}

/** Rounds to `scale` fraction digits. */
export function round(a: Decimal, scale: number, rounding: Rounding = 'half-up'): Decimal {
  if (a.scale <= scale) return a;
  return normalize({ coef: divideRounded(a.coef, 10n ** BigInt(a.scale - scale), rounding), scale });
}

/** Plain notation with exactly `scale` fraction digits (or as many as needed when omitted). */
export function toFixed(a: Decimal, scale?: number, rounding: Rounding = 'half-up'): string {
  const target = scale === undefined ? a.scale : scale;
  const rounded = round(a, target, rounding);
  const coef = rounded.coef * 10n ** BigInt(target - rounded.scale);
  const negative = coef < 0n;
  const digits = (negative ? -coef : coef).toString().padStart(target + 1, '0');
  const whole = digits.slice(0, digits.length - target);
  const fraction = target > 0 ? '.' + digits.slice(digits.length - target) : '';
  return (negative ? '-' : '') + whole + fraction;
}

export function toString(a: Decimal): string {
  return toFixed(normalize(a));
}

/** Float for plotting only. */
export function toNumber(a: Decimal): number {
  return Number(toString(a));
}

/** Number of fraction digits of a step such as tickSz "0.1" → 1, "0.0005" → 4, "1" → 0. */
export function stepDecimals(step: string | null | undefined): number | null {
  const parsed = parseDecimal(step ?? null);
  return parsed ? normalize(parsed).scale : null;
}

/** Largest multiple of `step` not above |value| (sign kept): sizes are rounded toward zero. */
export function floorToStep(value: Decimal, step: Decimal): Decimal {
  if (step.coef <= 0n) return value;
  const [x, s, scale] = align(value, step);
  return normalize({ coef: (x / s) * s, scale });
}

export function isMultipleOf(value: Decimal, step: Decimal): boolean {
  if (step.coef <= 0n) return true;
  const [x, s] = align(value, step);
  return x % s === 0n;
}
