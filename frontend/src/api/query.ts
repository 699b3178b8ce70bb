// TanStack Query: one cache for every read of the app. Screens read through useApiData (a thin hook
// over useQuery with named keys); the SSE stream invalidates the keys an event makes stale, so the
// screens refetch exactly what changed instead of polling everything.
import { QueryClient } from '@tanstack/react-query';
import { ApiError } from './client.ts';

/** Key prefixes of the cached reads; an event names the prefixes it makes stale. */
export const STALE_ON_EVENT: Record<string, readonly string[]> = {
  // the balance itself is patched from the event's numbers (Dashboard); what moved it is refetched
  balance: ['positions', 'orders', 'fills'],
  account: ['positions', 'orders', 'fills', 'positions-history', 'orders-history', 'fills-history', 'risk', 'balance'],
  approval: ['approvals', 'runs'],
  run: ['positions', 'orders', 'fills', 'approvals', 'scheduler-status'],
  trigger: ['scheduler-status'],
  // the daily-loss latch set or cleared
  risk: ['risk'],
};

/** The cached keys an SSE event makes stale (keys are `prefix` or `prefix:…`). */
export function keysStaleAfter(eventName: string, keys: readonly string[]): string[] {
  const prefixes = STALE_ON_EVENT[eventName] ?? [];
  return keys.filter((key) => prefixes.some((prefix) => key === prefix || key.startsWith(prefix + ':')));
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // a 4xx will not heal by asking again; network errors and 5xx get two more tries
        retry: (failures, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && failures < 2,
        refetchOnWindowFocus: false,
        staleTime: 5_000,
      },
    },
  });
}

/** Marks stale (and refetches, when shown) every cached read the event `eventName` touches. */
export function invalidateForEvent(client: QueryClient, eventName: string): void {
  const keys = client.getQueryCache().getAll().map((query) => String(query.queryKey[0]));
  for (const key of new Set(keysStaleAfter(eventName, keys))) void client.invalidateQueries({ queryKey: [key] });
}
