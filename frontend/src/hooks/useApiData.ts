import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';

export interface ApiData<T> {
  data: T | undefined;
  error: Error | null;
  loading: boolean;
  reload: () => void;
  setData: (update: (previous: T | undefined) => T | undefined) => void;
}

/**
 * A cached read (TanStack Query) under `key`: loads on first use and whenever `key` changes, shares
 * the answer between screens, keeps it visible while refetching, refetches every `refreshMs` when
 * given and when an SSE event makes the key stale (api/query.ts). A new key starts empty: the data
 * of another key (another instrument's candles) is never shown under it.
 */
export function useApiData<T>(load: (signal: AbortSignal) => Promise<T>, key: string, refreshMs?: number): ApiData<T> {
  const client = useQueryClient();
  const query = useQuery<T, Error>({ queryKey: [key], queryFn: ({ signal }) => load(signal), refetchInterval: refreshMs ?? false });
  const { refetch } = query;
  const reload = useCallback(() => void refetch(), [refetch]);
  const setData = useCallback((update: (previous: T | undefined) => T | undefined) => client.setQueryData<T>([key], update), [client, key]);
  return { data: query.data, error: query.error, loading: query.isFetching, reload, setData };
}
