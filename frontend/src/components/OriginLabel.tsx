import { useI18n } from '../i18n.tsx';
import { parseOrigin } from '../lib/origin.ts';

/** Who placed an order, in words: "AI analysis", "AI chat", "MCP: name", "manual"; the raw origin as the title. */
export function OriginLabel({ origin }: { origin: string | null | undefined }) {
  const { t } = useI18n();
  const parsed = parseOrigin(origin);
  const label =
    parsed.kind === 'run' || parsed.kind === 'agent' ? t('origin.analysis')
      : parsed.kind === 'chat' ? t('origin.chat')
        : parsed.kind === 'mcp' ? t('origin.mcp', { name: parsed.ref ?? '' })
          : parsed.kind === 'manual' ? t('origin.manual')
            : parsed.ref ?? '—';
  return <span className={`tag tag-origin-${parsed.kind}`} title={origin ?? undefined} data-testid="origin">{label}</span>;
}
