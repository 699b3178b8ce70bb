import { QueryClientProvider } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { getToken, onUnauthorized, setToken } from './api/client.ts';
import { createQueryClient } from './api/query.ts';
import { ApprovalsBadge } from './components/Approvals.tsx';
import { Banners } from './components/Banners.tsx';
import { ErrorBoundary } from './components/ErrorBoundary.tsx';
import { StreamProvider, useStreamStatus } from './hooks/stream.tsx';
import { useI18n } from './i18n.tsx';
import { browserTimeZone } from './lib/format.ts';
import type { MessageKey } from './lib/i18n-messages.ts';
import { Chat } from './pages/Chat.tsx';
import { Dashboard } from './pages/Dashboard.tsx';
import { Performance } from './pages/Performance.tsx';
import { SignIn } from './pages/SignIn.tsx';
import { Strategy } from './pages/Strategy.tsx';
import { Trade } from './pages/Trade.tsx';

export const ROUTES = ['dashboard', 'strategy', 'performance', 'chat', 'trade'] as const;
export type Route = (typeof ROUTES)[number];

function routeFromHash(hash: string): Route {
  const name = hash.replace(/^#\/?/, '');
  return (ROUTES as readonly string[]).includes(name) ? (name as Route) : 'dashboard';
}

export function App() {
  const [signedIn, setSignedIn] = useState(() => Boolean(getToken()));
  const [expired, setExpired] = useState(false);
  const [queryClient, setQueryClient] = useState(createQueryClient);
  const signedInRef = useRef(signedIn);
  useEffect(() => {
    signedInRef.current = signedIn;
  }, [signedIn]);

  useEffect(() => {
    onUnauthorized(() => {
      // a 401 while signing in is the sign-in form's own answer (a wrong token), not an ended session
      if (!signedInRef.current) return;
      setToken(null);
      setExpired(true);
      setSignedIn(false);
      setQueryClient(createQueryClient()); // nothing of the old session stays cached
    });
    return () => onUnauthorized(null);
  }, []);

  return (
    <QueryClientProvider client={queryClient}>
      {signedIn ? (
        <StreamProvider>
          <Shell onSignOut={() => { setToken(null); setSignedIn(false); setQueryClient(createQueryClient()); }} />
        </StreamProvider>
      ) : (
        <SignIn expired={expired} onSignedIn={() => { setExpired(false); setSignedIn(true); }} />
      )}
    </QueryClientProvider>
  );
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const { t, lang, setLang } = useI18n();
  const status = useStreamStatus();
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
        <ApprovalsBadge />
        <span className="spacer" />
        <span className="muted small" data-testid="time-zone" title={t('common.timeZone')}>{browserTimeZone()}</span>
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
          {route === 'performance' && <Performance />}
          {route === 'chat' && <Chat />}
          {route === 'trade' && <Trade />}
        </ErrorBoundary>
      </main>
    </div>
  );
}
