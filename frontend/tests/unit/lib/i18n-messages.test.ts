import { describe, expect, it } from 'vitest';
import { detectLang, en, translate, zh, type MessageKey } from '../../../src/lib/i18n-messages.ts';

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('messages', () => {
  it('Chinese has every English key, with the same placeholders and real text', () => {
    for (const key of Object.keys(en) as MessageKey[]) {
      expect(zh[key], key).toBeTruthy();
      expect(placeholders(zh[key]), key).toEqual(placeholders(en[key]));
    }
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(translate('en', 'strategy.threshold', { bps: 80 })).toBe('threshold 80 bp');
    expect(translate('zh', 'strategy.threshold', { bps: 80 })).toBe('阈值 80 基点');
    expect(translate('en', 'trade.placed')).toBe('Order placed: {ordId}');
  });

  it('defaults to the browser language', () => {
    expect(detectLang(['zh-CN', 'en-US'])).toBe('zh');
    expect(detectLang(['zh-TW'])).toBe('zh');
    expect(detectLang(['en-GB', 'zh-CN'])).toBe('en');
    expect(detectLang(['fr-FR', 'zh'])).toBe('zh');
    expect(detectLang(['de'])).toBe('en');
    expect(detectLang([])).toBe('en');
  });
});
