import { describe, expect, it } from 'vitest';
import { change24hPct, formatAgo, formatBps, formatClock, formatCountdown, formatDateTime, formatDecimal, formatDuration, formatPct, formatPrice, formatUsd, parseTime } from '../../../src/lib/format.ts';

describe('numbers', () => {
  it('groups thousands on the decimal text, keeping every digit', () => {
    expect(formatDecimal('1234567.891')).toBe('1,234,567.891');
    expect(formatDecimal('1234567.891', 2)).toBe('1,234,567.89');
    expect(formatDecimal('123456789012345678.12', 2)).toBe('123,456,789,012,345,678.12');
    expect(formatDecimal('-1000', 0)).toBe('-1,000');
    expect(formatDecimal('999.995', 2)).toBe('1,000.00');
    expect(formatDecimal('12', 2, { signed: true })).toBe('+12.00');
    expect(formatDecimal('0', 2, { signed: true })).toBe('0.00');
    expect(formatDecimal('-0.001', 2)).toBe('0.00');
    expect(formatDecimal(null)).toBe('—');
    expect(formatDecimal('oops')).toBe('—');
  });

  it('prints prices at the tick precision', () => {
    expect(formatPrice('31807.4', '0.1')).toBe('31,807.4');
    expect(formatPrice('31807', '0.1')).toBe('31,807.0');
    expect(formatPrice('68.2412', '0.01')).toBe('68.24');
    expect(formatPrice('68.2412')).toBe('68.2412');
  });

  it('prints money and percentages', () => {
    expect(formatUsd('10500.456')).toBe('10,500.46');
    expect(formatUsd('-12.3', { signed: true })).toBe('-12.30');
    expect(formatPct('5')).toBe('+5.00%');
    expect(formatPct('-1.234')).toBe('-1.23%');
    expect(formatPct(null)).toBe('—');
  });

  it('computes the 24 h change exactly', () => {
    expect(change24hPct('31807.4', '31671.1')).toBe('0.43');
    expect(change24hPct('99', '100')).toBe('-1.00');
    expect(change24hPct('1', '0')).toBeNull();
    expect(change24hPct(undefined, '1')).toBeNull();
  });

  it('prints basis points', () => {
    expect(formatBps(80)).toBe('+80.0 bp');
    expect(formatBps(-12.345)).toBe('-12.3 bp');
    expect(formatBps(0)).toBe('0.0 bp');
    expect(formatBps(null)).toBe('—');
    expect(formatBps(Number.NaN)).toBe('—');
  });
});

describe('durations and countdowns', () => {
  it('formats durations by size', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_340)).toBe('12.3 s');
    expect(formatDuration(95_000)).toBe('1 m 35 s');
    expect(formatDuration(3_720_000)).toBe('1 h 2 m');
    expect(formatDuration(-1)).toBe('—');
    expect(formatDuration(null)).toBe('—');
  });

  it('counts down to the next run, rounding up partial seconds and stopping at zero', () => {
    const now = 1_000_000;
    expect(formatCountdown(now + 61_000, now)).toBe('01:01');
    expect(formatCountdown(now + 500, now)).toBe('00:01');
    expect(formatCountdown(now - 5000, now)).toBe('00:00');
    expect(formatCountdown(now + 3_725_000, now)).toBe('1:02:05');
    expect(formatCountdown(null, now)).toBe('—');
  });
});

describe('times', () => {
  it('reads ISO strings, OKX millisecond strings and numbers', () => {
    expect(parseTime('1654033232461')).toBe(1654033232461);
    expect(parseTime('2026-11-25T19:20:05Z')).toBe(Date.UTC(2026, 10, 25, 19, 20, 5));
    expect(parseTime(5)).toBe(5);
    expect(parseTime('')).toBeNull();
    expect(parseTime('not a time')).toBeNull();
  });

  it('prints the time in the given zone', () => {
    const ms = Date.UTC(2026, 10, 25, 19, 20, 5);
    expect(formatDateTime(ms, 'UTC')).toBe('2026-11-25 19:20:05');
    expect(formatDateTime(String(ms), 'Asia/Shanghai')).toBe('2026-11-26 03:20:05');
    expect(formatClock(ms, 'UTC')).toBe('19:20:05');
    expect(formatDateTime(undefined)).toBe('—');
  });

  it('says how long ago in both languages', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(formatAgo(now - 5000, now, 'en')).toBe('5 s ago');
    expect(formatAgo(now - 180_000, now, 'en')).toBe('3 min ago');
    expect(formatAgo(now - 7_200_000, now, 'zh')).toBe('2小时前');
    expect(formatAgo(now + 1000, now, 'en')).toBe('0 s ago');
  });
});
