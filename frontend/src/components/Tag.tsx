import type { MessageKey } from '../lib/i18n-messages.ts';
import { useI18n } from '../i18n.tsx';

/** A run source or status as a coloured tag, translated when it is one we know. */
export function Tag({ kind, value }: { kind: 'source' | 'status'; value: string | null | undefined }) {
  const { t } = useI18n();
  if (!value) return <span className="tag">—</span>;
  const key = `${kind}.${value}` as MessageKey;
  const label = t(key);
  return <span className={`tag tag-${kind}-${value}`}>{label === key ? value : label}</span>;
}
