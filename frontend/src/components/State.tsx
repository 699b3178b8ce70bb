import type { ReactNode } from 'react';
import { ApiError } from '../api/client.ts';
import { useI18n } from '../i18n.tsx';
import { errorMessageKey } from '../lib/error-text.ts';

export function Loading({ label }: { label?: string }) {
  const { t } = useI18n();
  return (
    <div className="state state-loading" role="status">
      <span className="spinner" aria-hidden="true" /> {label ?? t('state.loading')}
    </div>
  );
}

export function Empty({ children }: { children?: ReactNode }) {
  const { t } = useI18n();
  return <div className="state state-empty">{children ?? t('state.empty')}</div>;
}

/** The error in the reader's language (rule ids and OKX codes translated), the server's text as the detail. */
export function ErrorBox({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  const { t } = useI18n();
  const api = error instanceof ApiError ? error : null;
  const field = api?.field ?? null;
  const key = api ? errorMessageKey({ status: api.status, rule: api.risk?.rule, code: api.code, message: api.message }) : null;
  return (
    <div className="state state-error" role="alert">
      <span>
        {key ? t(key) : error.message}
        {field ? ` (${t('common.field')}: ${field})` : ''}
        {key && <span className="muted small error-detail"> — {error.message}</span>}
      </span>
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          {t('state.retry')}
        </button>
      )}
    </div>
  );
}

/** Loading until the first answer; error with retry; empty when `isEmpty`; else the children. */
export function DataState<T>({ data, error, loading, reload, isEmpty, empty, children }: {
  data: T | undefined;
  error: Error | null;
  loading: boolean;
  reload?: () => void;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  if (data === undefined) {
    if (error) return <ErrorBox error={error} onRetry={reload} />;
    if (loading) return <Loading />;
    return <Empty>{empty}</Empty>;
  }
  return (
    <>
      {error && <ErrorBox error={error} onRetry={reload} />}
      {isEmpty?.(data) ? <Empty>{empty}</Empty> : children(data)}
    </>
  );
}
