import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { add, compare, div, floorToStep, isMultipleOf, mul, parseDecimal, round, stepDecimals, sub, toFixed, toString } from '../../../src/lib/decimal.ts';

const d = (text: string) => {
  const parsed = parseDecimal(text);
  if (!parsed) throw new Error(`not a decimal: ${text}`);
  return parsed;
};

// decimal strings as the API sends them: up to 12 integer digits and 10 fraction digits
const decimalText = fc
  .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 22n }), fc.integer({ min: 0, max: 10 }))
  .map(([negative, coef, scale]) => {
    const digits = coef.toString().padStart(scale + 1, '0');
    const text = scale > 0 ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits;
    return (negative && coef !== 0n ? '-' : '') + text;
  });

describe('parseDecimal', () => {
  it('reads the forms the API and people write', () => {
    expect(toString(d('123'))).toBe('123');
    expect(toString(d('-0.050'))).toBe('-0.05');
    expect(toString(d('.5'))).toBe('0.5');
    expect(toString(d('1e-3'))).toBe('0.001');
    expect(toString(d('2.5E2'))).toBe('250');
    expect(toString(d(' 42 '))).toBe('42');
    expect(toString(d('+7'))).toBe('7');
    expect(toString(d('-0'))).toBe('0');
    expect(toString(parseDecimal(0.1)!)).toBe('0.1');
  });

  it('refuses what is not a plain number', () => {
    for (const bad of ['', '.', '-', 'abc', '1,000', '1.2.3', 'NaN', 'Infinity', '0x10', '1e', null, undefined, Number.NaN]) {
      expect(parseDecimal(bad as string)).toBeNull();
    }
  });

  it('round-trips every decimal string (normalised)', () => {
    fc.assert(
      fc.property(decimalText, (text) => {
        const parsed = d(text);
        expect(compare(d(toString(parsed)), parsed)).toBe(0);
        // and agrees with the text's own value
        expect(toFixed(parsed, 10)).toBe(toFixed(d(text), 10));
      }),
    );
  });
});

describe('arithmetic', () => {
  it('is exact where floats are not', () => {
    expect(toString(add(d('0.1'), d('0.2')))).toBe('0.3');
    expect(toString(sub(d('10000.01'), d('10000')))).toBe('0.01');
    expect(toString(mul(d('0.01'), d('31807.4')))).toBe('318.074');
    expect(toString(mul(d('-1.5'), d('-2')))).toBe('3');
  });

  it('add and sub are inverse', () => {
    fc.assert(fc.property(decimalText, decimalText, (a, b) => compare(sub(add(d(a), d(b)), d(b)), d(a)) === 0));
  });

  it('compare agrees with the sign of the difference', () => {
    fc.assert(
      fc.property(decimalText, decimalText, (a, b) => {
        const diff = sub(d(a), d(b));
        const expected = diff.coef === 0n ? 0 : diff.coef < 0n ? -1 : 1;
        return compare(d(a), d(b)) === expected;
      }),
    );
  });

  it('div rounds half away from zero at the requested scale', () => {
    expect(toFixed(div(d('1'), d('3'), 4)!, 4)).toBe('0.3333');
    expect(toFixed(div(d('2'), d('3'), 4)!, 4)).toBe('0.6667');
    expect(toFixed(div(d('-2'), d('3'), 2)!, 2)).toBe('-0.67');
    expect(toFixed(div(d('1'), d('8'), 2)!, 2)).toBe('0.13');
    expect(toFixed(div(d('-1'), d('8'), 2)!, 2)).toBe('-0.13');
    expect(toFixed(div(d('1'), d('8'), 2, 'down')!, 2)).toBe('0.12');
    expect(div(d('1'), d('0'), 2)).toBeNull();
  });

  it('div is within half a unit of the last place', () => {
    fc.assert(
      fc.property(decimalText, decimalText.filter((t) => d(t).coef !== 0n), fc.integer({ min: 0, max: 8 }), (a, b, scale) => {
        const q = div(d(a), d(b), scale)!;
        // |q·b − a| ≤ |b|·10^-scale / 2
        const error = sub(mul(q, d(b)), d(a));
        const bound = mul(d(b), { coef: 5n, scale: scale + 1 });
        const absolute = (x: ReturnType<typeof d>) => (x.coef < 0n ? { coef: -x.coef, scale: x.scale } : x);
        return compare(absolute(error), absolute(bound)) <= 0;
      }),
    );
  });

  it('round and toFixed pad and round', () => {
    expect(toFixed(d('1.005'), 2)).toBe('1.01');
    expect(toFixed(d('-1.005'), 2)).toBe('-1.01');
    expect(toFixed(d('1.5'), 0)).toBe('2');
    expect(toFixed(d('3'), 2)).toBe('3.00');
    expect(toFixed(d('0.0004'), 3)).toBe('0.000');
    expect(toString(round(d('123.456'), 1, 'down'))).toBe('123.4');
  });
});

describe('steps', () => {
  it('knows the decimals of a tick size', () => {
    expect(stepDecimals('0.1')).toBe(1);
    expect(stepDecimals('0.0005')).toBe(4);
    expect(stepDecimals('1')).toBe(0);
    expect(stepDecimals('0.10')).toBe(1);
    expect(stepDecimals(undefined)).toBeNull();
  });

  it('floors to a multiple of the step, never above the value', () => {
    expect(toString(floorToStep(d('2.37'), d('0.1')))).toBe('2.3');
    expect(toString(floorToStep(d('5'), d('1')))).toBe('5');
    fc.assert(
      fc.property(decimalText.filter((t) => !t.startsWith('-')), fc.constantFrom('1', '0.1', '0.01', '0.001', '5', '0.25'), (value, step) => {
        const floored = floorToStep(d(value), d(step));
        return isMultipleOf(floored, d(step)) && compare(floored, d(value)) <= 0 && compare(add(floored, d(step)), d(value)) > 0;
      }),
    );
  });
});
