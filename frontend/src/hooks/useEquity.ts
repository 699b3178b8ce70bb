import { useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../api/client.ts';
import type { BalanceSnapshot } from '../api/types.ts';
import { loadSnapshotsAfter } from '../lib/chart-data.ts';
import { useApiData } from './useApiData.ts';

const SNAPSHOT_PAGE = 1000;
export const SNAPSHOTS_KEY = 'snapshots';

/**
 * The stored equity curve, shared by the dashboard and the performance page. Every 120 s only the
 * snapshots stored since the last one held are fetched (the cursor `after`), not the whole curve.
 */
export function useEquitySnapshots() {
  const queryClient = useQueryClient();
  return useApiData<BalanceSnapshot[]>(
    (signal) => loadSnapshotsAfter(queryClient.getQueryData<BalanceSnapshot[]>([SNAPSHOTS_KEY]) ?? [], (after) =>
      unwrap(api.GET('/api/account/balances/snapshots', { params: { query: { limit: String(SNAPSHOT_PAGE), after: String(after) } }, signal }))),
    SNAPSHOTS_KEY, 120_000,
  );
}
