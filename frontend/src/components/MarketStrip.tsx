import { useAllTickers, useStreamStatus } from '../hooks/stream.tsx';
import { useI18n } from '../i18n.tsx';
import { change24hPct, formatPct, formatPrice } from '../lib/format.ts';

export function MarketStrip({ tickSizes, selected, onSelect }: { tickSizes: Record<string, string>; selected?: string; onSelect?: (instId: string) => void }) {
  const { t } = useI18n();
  const tickers = useAllTickers();
  const status = useStreamStatus();
  if (tickers.order.length === 0) {
    return <div className="market-strip state-empty">{status === 'connecting' ? t('stream.connecting') : t('market.noTickers')}</div>;
  }
  return (
    <div className="market-strip" data-testid="market-strip">
      {tickers.order.map((instId) => {
        const entry = tickers.byInstId[instId]!;
        const change = change24hPct(entry.ticker.last, entry.ticker.open24h);
        const tone = change === null ? '' : change.startsWith('-') ? 'down' : Number(change) > 0 ? 'up' : '';
        return (
          <button
            type="button"
            key={instId}
            className={`ticker-card${selected === instId ? ' selected' : ''}${status === 'stale' ? ' stale' : ''}`}
            onClick={() => onSelect?.(instId)}
            data-testid={`ticker-${instId}`}
          >
            <span className="ticker-inst">{instId}</span>
            <span key={entry.ticker.last} className={`ticker-last flash-${entry.direction}`} data-testid="ticker-last">
              {formatPrice(entry.ticker.last, tickSizes[instId])}
            </span>
            <span className={`ticker-change ${tone}`}>
              {t('market.change24h')} {formatPct(change)}
            </span>
          </button>
        );
      })}
    </div>
  );
}
