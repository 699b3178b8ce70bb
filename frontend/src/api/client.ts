// The app's HTTP clients: openapi-fetch over the generated path types (schema-api.ts, schema-agent.ts),
// same-origin paths (/api/... for the trading API, /agent/... for the agent), the bearer token from
// sessionStorage added by a middleware, a 401 anywhere ends the session, and `unwrap` turns an error
// answer into an ApiError carrying the server's message, field, rule and code.
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths as ApiPaths } from './schema-api.ts';
import type { paths as AgentPaths } from './schema-agent.ts';
import { type ApiErrorInfo, type RiskInfo, parseApiError } from '../lib/errors.ts';

const TOKEN_KEY = 'aitrader.token';
export const AGENT_PREFIX = '/agent';

export class ApiError extends Error {
  readonly status: number;
  readonly field: string | null;
  readonly risk: RiskInfo | null;
  readonly code: string | null;
  constructor(info: ApiErrorInfo) {
    super(info.message);
    this.name = 'ApiError';
    this.status = info.status;
    this.field = info.field;
    this.risk = info.risk;
    this.code = info.code ?? null;
  }
}

let unauthorizedHandler: (() => void) | null = null;
/** Origin the same-origin paths are resolved against: '' in the browser; tests point it at a server. */
let origin = '';

export function setApiOrigin(value: string): void {
  origin = value.replace(/\/$/, '');
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage unavailable (private mode): the token lives only in memory for this page */
  }
}

/** Called on any 401: the app clears the token and shows the sign-in page. */
export function onUnauthorized(handler: (() => void) | null): void {
  unauthorizedHandler = handler;
}

export function notifyUnauthorized(): void {
  unauthorizedHandler?.();
}

export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const token = getToken();
  return { Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...extra };
}

async function readErrorBody(response: Response): Promise<unknown> {
  const raw = await response.clone().text().catch(() => '');
  try {
    return raw ? JSON.parse(raw) : null;
  } catch {
    return raw;
  }
}

/** Raises ApiError for a non-2xx answer (after reading its JSON error body). */
export async function ensureOk(response: Response): Promise<Response> {
  if (response.ok) return response;
  const body = await readErrorBody(response);
  if (response.status === 401) notifyUnauthorized();
  throw new ApiError(parseApiError(response.status, body, response.statusText));
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    if (!request.headers.has('Accept')) request.headers.set('Accept', 'application/json');
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) notifyUnauthorized();
    return response;
  },
};

/** Absolute URL of a same-origin path: against `origin` when a test set one, else the page's origin. */
export function apiUrl(path: string): string {
  return (origin || window.location.origin) + path;
}

/** Request that resolves the same-origin paths openapi-fetch builds ('/api/...') to absolute URLs. */
class SameOriginRequest extends Request {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(typeof input === 'string' && input.startsWith('/') ? apiUrl(input) : input, init);
  }
}

const fetchOrNetworkError = async (request: Request): Promise<Response> => {
  try {
    return await fetch(request);
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError({ status: 0, message: `Network error: ${(error as Error).message}`, field: null, risk: null });
  }
};

function makeClient<P extends object>(prefix: string) {
  const client = createClient<P>({ baseUrl: prefix, Request: SameOriginRequest, fetch: fetchOrNetworkError });
  client.use(auth);
  return client;
}

/** Trading API (openapi-fetch): paths in its schema already start with /api. */
export const api = makeClient<ApiPaths>('');
/** Agent (openapi-fetch): its schema's paths (/chat, /sessions, /health) are served to the browser under /agent. */
export const agent = makeClient<AgentPaths>(AGENT_PREFIX);

/** The data of a 2xx answer; an ApiError (message, field, rule) for any other. */
export async function unwrap<R extends { data?: unknown; error?: unknown; response: Response }>(pending: Promise<R>): Promise<Exclude<R['data'], undefined>> {
  const result = await pending;
  if (!result.response.ok) {
    const body = result.error !== undefined ? result.error : await readErrorBody(result.response);
    throw new ApiError(parseApiError(result.response.status, body, result.response.statusText));
  }
  return result.data as Exclude<R['data'], undefined>;
}


/**
 * POST /api/trade/position-tpsl (interface 2): sets (replaces) the TP/SL of the open position; null removes
 * a leg. Answers the new TP/SL (200) or, for an agent in approval mode, the pending approval (202).
 */
export function setPositionTpsl(body: import('./extensions.ts').PositionTpslRequest) {
  return unwrap(api.POST('/api/trade/position-tpsl', { body }));
}
