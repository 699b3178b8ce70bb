import { agent, api } from '../api/client.ts';
import { useApiData } from '../hooks/useApiData.ts';
import { useStream } from '../hooks/stream.tsx';
import { useI18n } from '../i18n.tsx';

/** Simulator / demo / offline-model banners and the stale-feed warning, on every page. */
export function Banners() {
  const { t } = useI18n();
  const { status } = useStream();
  const health = useApiData((signal) => api.get('/api/health', { signal }), 'health', 60_000);
  const agentHealth = useApiData((signal) => agent.get('/health', { signal }), 'agent-health', 60_000);
  const okx = health.data?.okx;
  const provider = agentHealth.data?.provider ?? null;
  return (
    <div className="banners">
      {okx?.simulator && <div className="banner banner-info" data-testid="banner-simulator">{t('banner.simulator')}</div>}
      {okx && !okx.simulator && okx.simulated && <div className="banner banner-info" data-testid="banner-simulated">{t('banner.simulated')}</div>}
      {provider === 'offline' && <div className="banner banner-info" data-testid="banner-offline">{t('banner.offline')}</div>}
      {status === 'stale' && (
        <div className="banner banner-warn" role="alert" data-testid="banner-stale">
          {t('stream.stale')}
        </div>
      )}
    </div>
  );
}
