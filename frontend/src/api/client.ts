// The app's one HTTP client: same-origin paths (/api/... for the trading API, /agent/... for the
// agent), bearer token from sessionStorage, a 401 anywhere ends the session, and error bodies are
// turned into an ApiError carrying the server's message and field.
import type { paths as ApiPaths } from './schema-api.ts';
import type { paths as AgentPaths } from './schema-agent.ts';
import { type ApiErrorInfo, type RiskInfo, parseApiError } from '../lib/errors.ts';

const TOKEN_KEY = 'aitrader.token';
export const AGENT_PREFIX = '/agent';

export class ApiError extends Error {
  readonly status: number;
  readonly field: string | null;
  readonly risk: RiskInfo | null;
  constructor(info: ApiErrorInfo) {
    super(info.message);
    this.name = 'ApiError';
    this.status = info.status;
    this.field = info.field;
    this.risk = info.risk;
  }
}

let unauthorizedHandler: (() => void) | null = null;

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

type Method = 'get' | 'post';
type JsonContent<R> = R extends { content: { 'application/json': infer J } } ? J : unknown;
type SuccessBody<Op> = Op extends { responses: infer R }
  ? 200 extends keyof R ? JsonContent<R[200]> : 201 extends keyof R ? JsonContent<R[201]> : 202 extends keyof R ? JsonContent<R[202]> : unknown
  : never;
type QueryOf<Op> = Op extends { parameters: { query?: infer Q } } ? ([Q] extends [never] ? undefined : Q) : undefined;
type PathParamsOf<Op> = Op extends { parameters: { path: infer P } } ? ([P] extends [never] ? undefined : P) : undefined;
type BodyOf<Op> = Op extends { requestBody: { content: { 'application/json': infer B } } }
  ? B
  : Op extends { requestBody?: { content: { 'application/json': infer B } } }
    ? B | undefined
    : undefined;

type Operation<P, Path extends keyof P, M extends Method> = P[Path] extends { [K in M]: infer Op } ? Op : never;
type PathsWith<P, M extends Method> = { [K in keyof P]: P[K] extends { [X in M]: infer Op } ? ([Op] extends [never] ? never : Op extends undefined ? never : K) : never }[keyof P];

export interface RequestOptions<Op> {
  query?: QueryOf<Op>;
  path?: PathParamsOf<Op>;
  body?: BodyOf<Op>;
  signal?: AbortSignal;
}

function buildUrl(prefix: string, template: string, path?: Record<string, unknown>, query?: Record<string, unknown>): string {
  let url = prefix + template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(String(path?.[name] ?? '')));
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const qs = search.toString();
  if (qs) url += '?' + qs;
  return url;
}

export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const token = getToken();
  return { Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}), ...extra };
}

/** Raises ApiError for a non-2xx answer (after reading its JSON error body). */
export async function ensureOk(response: Response): Promise<Response> {
  if (response.ok) return response;
  let body: unknown = null;
  const raw = await response.text().catch(() => '');
  try {
    body = raw ? JSON.parse(raw) : null;
  } catch {
    body = raw;
  }
  if (response.status === 401) notifyUnauthorized();
  throw new ApiError(parseApiError(response.status, body, response.statusText));
}

async function request(method: Method, url: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: method.toUpperCase(),
      headers: authHeaders(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal,
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError({ status: 0, message: `Network error: ${(error as Error).message}`, field: null, risk: null });
  }
  await ensureOk(response);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

function makeClient<P>(prefix: string) {
  return {
    get<Path extends PathsWith<P, 'get'> & string>(path: Path, options: RequestOptions<Operation<P, Path, 'get'>> = {}) {
      const url = buildUrl(prefix, path, options.path as Record<string, unknown>, options.query as Record<string, unknown>);
      return request('get', url, undefined, options.signal) as Promise<SuccessBody<Operation<P, Path, 'get'>>>;
    },
    post<Path extends PathsWith<P, 'post'> & string>(path: Path, options: RequestOptions<Operation<P, Path, 'post'>> = {}) {
      const url = buildUrl(prefix, path, options.path as Record<string, unknown>, options.query as Record<string, unknown>);
      return request('post', url, options.body, options.signal) as Promise<SuccessBody<Operation<P, Path, 'post'>>>;
    },
    url(path: string, query?: Record<string, unknown>) {
      return buildUrl(prefix, path, undefined, query);
    },
  };
}

/** Trading API: paths in its schema already start with /api. */
export const api = makeClient<ApiPaths>('');
/** Agent: its schema's paths (/chat, /sessions, /health) are served to the browser under /agent. */
export const agent = makeClient<AgentPaths>(AGENT_PREFIX);
