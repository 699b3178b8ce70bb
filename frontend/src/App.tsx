import { useEffect, useState } from 'react';
import { getToken, onUnauthorized, setToken } from './api/client.ts';
import { Banners } from './components/Banners.tsx';
import { ErrorBoundary } from './components/ErrorBoundary.tsx';
import { StreamProvider, useStream } from './hooks/stream.tsx';
import { useI18n } from './i18n.tsx';
import type { MessageKey } from './lib/i18n-messages.ts';
import { Chat } from './pages/Chat.tsx';
import { Dashboard } from './pages/Dashboard.tsx';
import { SignIn } from './pages/SignIn.tsx';
import { Strategy } from './pages/Strategy.tsx';
import { Trade } from './pages/Trade.tsx';

const ROUTES = ['dashboard', 'strategy', 'chat', 'trade'] as const;
type Route = (typeof ROUTES)[number];

function routeFromHash(hash: string): Route {
  const name = hash.replace(/^#\/?/, '');
  return (ROUTES as readonly string[]).includes(name) ? (name as Route) : 'dashboard';
}

export function App() {
  const [signedIn, setSignedIn] = useState(() => Boolean(getToken()));
  const [expired, setExpired] = useState(false);

  useEffect(() => {
    onUnauthorized(() => {
      setToken(null);
      setExpired(true);
      setSignedIn(false);
    });
    return () => onUnauthorized(null);
  }, []);

  if (!signedIn) return <SignIn expired={expired} onSignedIn={() => { setExpired(false); setSignedIn(true); }} />;
  return (
    <StreamProvider>
      <Shell onSignOut={() => { setToken(null); setSignedIn(false); }} />
    </StreamProvider>
  );
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const { t, lang, setLang } = useI18n();
  const { status } = useStream();
  const [route, setRoute] = useState<Route>(() => routeFromHash(window.location.hash));
  useEffect(() => {
    const onHash = () => setRoute(routeFromHash(window.location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  const statusKey: MessageKey = status === 'live' ? 'stream.live' : 'stream.connecting';
  return (
    <div className="app">
      <header className="topbar">
        <span className="brand">{t('app.title')}</span>
        <nav>
          {ROUTES.map((name) => (
            <a key={name} href={`#/${name}`} className={route === name ? 'active' : ''} aria-current={route === name ? 'page' : undefined}>
              {t(`nav.${name}` as MessageKey)}
            </a>
          ))}
        </nav>
        <span className="spacer" />
        <span className={`feed-status feed-${status}`} data-testid="feed-status" title={status}>
          <span className="dot" /> {status === 'stale' ? '!' : t(statusKey)}
        </span>
        <button type="button" className="btn btn-link" onClick={() => setLang(lang === 'en' ? 'zh' : 'en')}>{t('common.lang')}</button>
        <button type="button" className="btn btn-link" onClick={onSignOut}>{t('nav.signOut')}</button>
      </header>
      <Banners />
      <main>
        <ErrorBoundary resetKey={route} title={t('state.screenError')} retry={t('state.retry')}>
          {route === 'dashboard' && <Dashboard />}
          {route === 'strategy' && <Strategy />}
          {route === 'chat' && <Chat />}
          {route === 'trade' && <Trade />}
        </ErrorBoundary>
      </main>
    </div>
  );
}
