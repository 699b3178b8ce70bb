import { agent, api, unwrap } from '../api/client.ts';
import { useApiData } from '../hooks/useApiData.ts';
import type { SchedulerStatus } from '../api/types.ts';
import { useStreamEvent, useStreamStatus } from '../hooks/stream.tsx';
import { useI18n } from '../i18n.tsx';

/** Simulator / demo / offline-model banners and the stale-feed warning, on every page. */
export function Banners() {
  const { t } = useI18n();
  const status = useStreamStatus();
  const health = useApiData((signal) => unwrap(api.GET('/api/health', { signal })), 'health', 60_000);
  const agentHealth = useApiData((signal) => unwrap(agent.GET('/health', { signal })), 'agent-health', 60_000);
  const scheduler = useApiData<SchedulerStatus>((signal) => unwrap(api.GET('/api/scheduler/status', { signal })), 'scheduler-status', 30_000);
  useStreamEvent('scheduler', (payload) => scheduler.setData(() => payload as SchedulerStatus));
  const okx = health.data?.okx;
  const provider = agentHealth.data?.provider ?? null;
  return (
    <div className="banners">
      {okx?.simulator && <div className="banner banner-info" data-testid="banner-simulator">{t('banner.simulator')}</div>}
      {okx && !okx.simulator && okx.simulated && <div className="banner banner-info" data-testid="banner-simulated">{t('banner.simulated')}</div>}
      {provider === 'offline' && <div className="banner banner-info" data-testid="banner-offline">{t('banner.offline')}</div>}
      {scheduler.data?.paused && (
        <div className="banner banner-warn" data-testid="banner-paused">
          {t('banner.paused')}{scheduler.data.pausedReason ? ` — ${scheduler.data.pausedReason}` : ''} <a href="#/strategy">{t('nav.strategy')}</a>
        </div>
      )}
      {status === 'stale' && (
        <div className="banner banner-warn" role="alert" data-testid="banner-stale">
          {t('stream.stale')}
        </div>
      )}
    </div>
  );
}
