import { describe, expect, it } from 'vitest';
import { parseApiError } from '../../../src/lib/errors.ts';

describe('error bodies', () => {
  it('reads the API error with its field', () => {
    expect(parseApiError(400, { status_code: 400, detail: 'instId must look like BTC-USDT-SWAP', field: 'instId' })).toEqual({
      status: 400, message: 'instId must look like BTC-USDT-SWAP', field: 'instId', risk: null,
    });
    expect(parseApiError(400, { status_code: 400, detail: 'bad bar', extra: { field: 'bar' } }).field).toBe('bar');
    expect(parseApiError(400, { status_code: 400, detail: 'bad', extra: [{ key: 'limit', message: 'too big' }] }).field).toBe('limit');
  });

  it('reads a risk refusal with its rule and numbers, top level or in extra', () => {
    const refusal = { rule: 'max_leverage', message: 'leverage 20 above the limit 10', limit: '10', actual: '20' };
    expect(parseApiError(422, { status_code: 422, detail: 'refused', ...refusal }).risk).toEqual(refusal);
    const nested = parseApiError(422, { status_code: 422, detail: 'refused', extra: refusal });
    expect(nested.risk).toEqual(refusal);
    expect(nested.message).toBe('leverage 20 above the limit 10');
    expect(parseApiError(422, { detail: 'x', rule: 'daily_loss', limit: 5 }).risk).toEqual({ rule: 'daily_loss', message: 'x', limit: '5', actual: null });
    expect(parseApiError(400, { detail: 'x', rule: 'not a refusal' }).risk).toBeNull();
  });

  it('reads FastAPI validation errors', () => {
    const info = parseApiError(422, { detail: [{ loc: ['body', 'message'], msg: 'Field required', type: 'missing' }] });
    expect(info).toEqual({ status: 422, message: 'Field required', field: 'message', risk: null });
  });

  it('falls back to the text or the status', () => {
    expect(parseApiError(502, 'Bad Gateway')).toMatchObject({ message: 'Bad Gateway', field: null });
    expect(parseApiError(500, null, 'Internal Server Error').message).toBe('HTTP 500 Internal Server Error');
    expect(parseApiError(503, { unexpected: true }).message).toBe('HTTP 503');
  });
});
