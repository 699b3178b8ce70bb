import { useState } from 'react';
import { ApiError, api, setToken, unwrap } from '../api/client.ts';
import { useI18n } from '../i18n.tsx';

export function SignIn({ onSignedIn, expired }: { onSignedIn: () => void; expired: boolean }) {
  const { t, lang, setLang } = useI18n();
  const [token, setTokenInput] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async () => {
    const value = token.trim();
    if (!value) return;
    setBusy(true);
    setError(null);
    setToken(value);
    try {
      // any authenticated endpoint proves the token
      await unwrap(api.GET('/api/market/tickers'));
      onSignedIn();
    } catch (err) {
      setToken(null);
      setError(err instanceof ApiError && err.status === 401 ? t('signin.invalid') : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="signin">
      <form className="panel signin-panel" onSubmit={(e) => { e.preventDefault(); void submit(); }} data-testid="signin-form">
        <header className="panel-head">
          <h1>{t('app.title')} · {t('signin.title')}</h1>
          <button type="button" className="btn btn-link" onClick={() => setLang(lang === 'en' ? 'zh' : 'en')}>{t('common.lang')}</button>
        </header>
        {expired && <div className="state state-error">{t('signin.expired')}</div>}
        <p className="muted">{t('signin.hint')}</p>
        <label>
          {t('signin.token')}
          <input type="password" name="token" autoComplete="current-password" value={token} onChange={(e) => setTokenInput(e.target.value)} autoFocus />
        </label>
        {error && <div className="state state-error" role="alert">{error}</div>}
        <button type="submit" className="btn btn-primary btn-large" disabled={busy || !token.trim()}>{t('signin.submit')}</button>
      </form>
    </div>
  );
}
