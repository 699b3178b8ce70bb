// Reads the services' error bodies. The API answers `{"status_code", "detail", "field"?}` (Litestar
// style; the field may also sit in `extra`), risk refusals are 422 with `rule`, `message`, `limit`,
// `actual`; FastAPI's validation errors are `{"detail": [{"loc": [...], "msg"}]}`.

export interface RiskInfo {
  rule: string;
  message: string;
  limit: string | null;
  actual: string | null;
}

export interface ApiErrorInfo {
  status: number;
  message: string;
  field: string | null;
  risk: RiskInfo | null;
  /** OKX's error code (sCode / code) when the API passed one on */
  code?: string | null;
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function text(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

function findRisk(source: Record<string, unknown> | null): RiskInfo | null {
  if (!source) return null;
  const rule = text(source.rule);
  if (!rule) return null;
  return {
    rule,
    message: text(source.message) ?? text(source.detail) ?? rule,
    limit: text(source.limit),
    actual: text(source.actual),
  };
}

export function parseApiError(status: number, body: unknown, statusText = ''): ApiErrorInfo {
  const record = asRecord(body);
  const extra = asRecord(record?.extra) ?? (Array.isArray(record?.extra) ? asRecord((record!.extra as unknown[])[0]) : null);
  let message = text(record?.detail) ?? text(record?.message) ?? text(record?.error);
  let field = text(record?.field) ?? text(extra?.field) ?? text(extra?.key);
  if (!message && Array.isArray(record?.detail)) {
    // FastAPI validation error list
    const first = asRecord(record!.detail[0]);
    message = text(first?.msg);
    if (Array.isArray(first?.loc)) field = field ?? (first!.loc as unknown[]).filter((p) => p !== 'body' && p !== 'query').map(String).join('.');
  }
  if (!message && typeof body === 'string' && body.trim() !== '' && body.length < 500) message = body.trim();
  const risk = status === 422 ? findRisk(record) ?? findRisk(extra) : null;
  const code = text(record?.okxSCode) ?? text(record?.okxCode) ?? text(extra?.okxSCode) ?? text(extra?.okxCode);
  return {
    status,
    message: risk?.message ?? message ?? `HTTP ${status}${statusText ? ' ' + statusText : ''}`,
    field: field || null,
    risk,
    ...(code ? { code } : {}),
  };
}
