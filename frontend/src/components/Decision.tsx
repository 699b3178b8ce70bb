// A run's structured decision (interface 3): a tag for the history table and a block for the detail.
// Runs recorded before the agent sent decisions have none: they show a dash.
import { type RunView, runDecision } from '../api/extensions.ts';
import { useI18n } from '../i18n.tsx';
import type { MessageKey } from '../lib/i18n-messages.ts';
import { contractsKey, formatDecimal, formatPrice } from '../lib/format.ts';

function useActionLabel() {
  const { t } = useI18n();
  return (action: string) => {
    const key = `decision.${action}` as MessageKey;
    const label = t(key);
    return label === key ? action : label;
  };
}

export function DecisionTag({ run }: { run: RunView }) {
  const label = useActionLabel();
  const decision = runDecision(run);
  if (!decision) return <span className="muted">—</span>;
  const tone = decision.action === 'open_long' ? 'up' : decision.action === 'open_short' ? 'down' : '';
  return (
    <span className={`tag tag-decision ${tone}`} data-testid="decision-tag">
      {label(decision.action)}
      {typeof decision.confidence === 'number' ? ` · ${decision.confidence}%` : ''}
    </span>
  );
}

export function DecisionBlock({ run, tickSz }: { run: RunView; tickSz?: string }) {
  const { t } = useI18n();
  const label = useActionLabel();
  const decision = runDecision(run);
  if (!decision) return null;
  return (
    <section data-testid="run-decision">
      <h3>{t('run.decision')}</h3>
      <p><strong>{label(decision.action)}</strong> {decision.instId ?? run.instId}{typeof decision.confidence === 'number' ? ` · ${t('run.confidence')} ${decision.confidence}%` : ''}</p>
      <dl className="facts">
        <dt>{t('decision.size')}</dt><dd>{decision.size ? t(contractsKey(decision.size), { n: formatDecimal(decision.size) }) : '—'}</dd>
        <dt>{t('decision.entry')}</dt><dd>{formatPrice(decision.entry, tickSz)}</dd>
        <dt>{t('decision.stop')}</dt><dd>{formatPrice(decision.stop, tickSz)}</dd>
        <dt>{t('decision.target')}</dt><dd>{formatPrice(decision.target, tickSz)}</dd>
        <dt>{t('decision.invalidation')}</dt><dd>{decision.invalidation || '—'}</dd>
        <dt>{t('decision.reason')}</dt><dd className="wrap">{decision.reason || '—'}</dd>
      </dl>
    </section>
  );
}
