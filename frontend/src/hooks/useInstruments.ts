import { useEffect, useState } from 'react';
import { api, unwrap } from '../api/client.ts';
import type { Instrument } from '../api/types.ts';

let cache: Promise<Instrument[]> | null = null;

/** Instrument specs of the configured instruments, fetched once per page load. */
export function useInstruments(): { instruments: Instrument[] | undefined; error: Error | null; byId: Record<string, Instrument> } {
  const [instruments, setInstruments] = useState<Instrument[] | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);
  useEffect(() => {
    let alive = true;
    cache ??= unwrap(api.GET('/api/market/instruments'));
    cache.then(
      (list) => alive && setInstruments(list),
      (err: Error) => {
        cache = null; // try again next time
        if (alive) setError(err);
      },
    );
    return () => {
      alive = false;
    };
  }, []);
  const byId: Record<string, Instrument> = {};
  for (const instrument of instruments ?? []) byId[instrument.instId] = instrument;
  return { instruments, error, byId };
}

export function tickSizeMap(byId: Record<string, Instrument>): Record<string, string> {
  const map: Record<string, string> = {};
  for (const [instId, instrument] of Object.entries(byId)) map[instId] = instrument.tickSz;
  return map;
}
