import { useEffect, useState } from 'preact/hooks';
import { api, UNAUTHORIZED_EVENT } from './api';
import { ErrorAlert } from './components/ErrorAlert';
import { Link } from './components/Link';
import { live, useLive } from './live';
import { ApiKeys } from './pages/ApiKeys';
import { Jobs } from './pages/Jobs';
import { Login } from './pages/Login';
import { Metrics } from './pages/Metrics';
import { Models } from './pages/Models';
import { Playground } from './pages/Playground';
import { Profiles } from './pages/Profiles';
import { Registry } from './pages/Registry';
import { ServiceDetail } from './pages/ServiceDetail';
import { Services } from './pages/Services';
import { Workers } from './pages/Workers';
import { navigate, useLocation, type Location } from './router';
import { applyTheme, storedTheme, type ThemeChoice } from './theme';
import type { SessionView, Who } from './types';

/** The navigation: a page shows only to a key with its scope; API keys only when auth is on (with it off there are none to manage). */
const PAGES: ReadonlyArray<{ path: string; title: string; scope: string; needsAuth?: boolean }> = [
  { path: '/services', title: 'Services', scope: 'read' },
  { path: '/models', title: 'Models', scope: 'read' },
  { path: '/registry', title: 'Registry', scope: 'read' },
  { path: '/workers', title: 'Workers', scope: 'read' },
  { path: '/jobs', title: 'Jobs', scope: 'infer' },
  { path: '/metrics', title: 'Metrics', scope: 'metrics' },
  { path: '/profiles', title: 'Profiles', scope: 'read' },
  { path: '/keys', title: 'API keys', scope: 'admin', needsAuth: true },
];

type Session = { state: 'loading' } | { state: 'error'; error: unknown } | { state: 'login'; notice?: string } | { state: 'in'; auth: 'on' | 'off'; who: Who };

export function App() {
  const [session, setSession] = useState<Session>({ state: 'loading' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    api<SessionView>('/api/session').then(
      (s) => setSession(s.principal ? { state: 'in', auth: s.auth, who: s.principal } : { state: 'login' }),
      (error) => setSession({ state: 'error', error }),
    );
  }, [attempt]);

  // Any 401 (an expired or revoked key, a logout elsewhere) returns to the login.
  useEffect(() => {
    const onUnauthorized = () => {
      live.stop();
      setSession({ state: 'login', notice: 'Your session has ended: log in again.' });
    };
    window.addEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
    return () => window.removeEventListener(UNAUTHORIZED_EVENT, onUnauthorized);
  }, []);

  useEffect(() => {
    if (session.state === 'in') live.start();
  }, [session.state]);

  if (session.state === 'loading') return <main id="main"><p role="status">Loading…</p></main>;
  if (session.state === 'error') return <main id="main"><h1>Corral</h1><ErrorAlert error={session.error} onRetry={() => setAttempt((n) => n + 1)} /></main>;
  if (session.state === 'login') return <Login notice={session.notice} onLogin={(who) => setSession({ state: 'in', auth: 'on', who })} />;

  const logout = async () => {
    live.stop();
    await api('/api/session', { method: 'DELETE' }).catch(() => undefined);
    setSession({ state: 'login' });
  };
  return <Shell who={session.who} authOn={session.auth === 'on'} onLogout={() => void logout()} />;
}

function Shell({ who, authOn, onLogout }: { who: Who; authOn: boolean; onLogout: () => void }) {
  const location = useLocation();
  const state = useLive();
  const can = (scope: string) => who.scopes.includes('admin') || who.scopes.includes(scope as Who['scopes'][number]);
  const pages = PAGES.filter((p) => can(p.scope) && (!p.needsAuth || authOn));

  useEffect(() => {
    if (location.path === '/') navigate('/services', true);
  }, [location.path]);

  const page = pageFor(location, pages.map((p) => p.path));
  useEffect(() => {
    document.title = `${page.title} · Corral`;
    // After a navigation, keyboard and screen reader users land on the new page's heading.
    const heading = document.getElementById('page-title');
    if (heading && document.activeElement !== document.body) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }, [location.path]);

  return (
    <>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <span class="brand">Corral</span>
        <nav aria-label="Main">
          <ul>
            {pages.map((p) => <li key={p.path}><Link to={p.path} current={location.path.startsWith(p.path)}>{p.title}</Link></li>)}
          </ul>
        </nav>
        <div class="top-right">
          <span class={`connection connection-${state.connection}`} role="status">
            <span aria-hidden="true">{state.connection === 'live' ? '●' : '◌'}</span> {state.connection === 'live' ? 'Live' : state.connection === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
          </span>
          <ThemeSelect />
          {authOn && <span class="who" title={`Scopes: ${who.scopes.join(', ')}`}>{who.name}</span>}
          {authOn && <button type="button" class="secondary" onClick={onLogout}>Log out</button>}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page.render(state, location, can)}
      </main>
    </>
  );
}

function pageFor(location: Location, allowed: string[]) {
  const p = location.path;
  const playground = /^\/models\/([^/]+)\/playground$/.exec(p);
  type Render = (s: ReturnType<typeof useLive>, l: Location, can: (scope: string) => boolean) => preact.JSX.Element;
  const page = (title: string, render: Render) => ({ title, render });
  if (playground) return page('Playground', (s) => <Playground live={s} name={decodeURIComponent(playground[1]!)} />);
  const detail = /^\/services\/([^/]+)$/.exec(p);
  if (detail && allowed.includes('/services')) return page('Service', (s, l, can) => <ServiceDetail live={s} location={l} can={can} idOrName={decodeURIComponent(detail[1]!)} />);
  if (p === '/' || (p.startsWith('/services') && allowed.includes('/services'))) return page('Services', (s, l, can) => <Services live={s} location={l} can={can} />);
  if (p.startsWith('/models') && allowed.includes('/models')) return page('Models', (s, _l, can) => <Models live={s} can={can} />);
  if (p.startsWith('/workers') && allowed.includes('/workers')) return page('Workers', (s) => <Workers live={s} />);
  if (p.startsWith('/jobs') && allowed.includes('/jobs')) return page('Jobs', (s, l) => <Jobs live={s} location={l} />);
  if (p.startsWith('/metrics') && allowed.includes('/metrics')) return page('Metrics', (_s, l) => <Metrics location={l} />);
  if (p.startsWith('/registry') && allowed.includes('/registry')) return page('Registry', (_s, _l, can) => <Registry can={can} />);
  if (p.startsWith('/profiles') && allowed.includes('/profiles')) return page('Profiles', (_s, _l, can) => <Profiles can={can} />);
  if (p.startsWith('/keys') && allowed.includes('/keys')) return page('API keys', () => <ApiKeys />);
  return page('Not found', () => <section><h1 id="page-title" tabIndex={-1}>Not found</h1><p>No page {p} here, or your key may not see it. <Link to="/services">Services</Link></p></section>);
}

function ThemeSelect() {
  const [choice, setChoice] = useState<ThemeChoice>(storedTheme);
  return (
    <>
      <label for="theme" class="visually-hidden">Theme</label>
      <select id="theme" value={choice} onChange={(e) => {
        const v = (e.currentTarget as HTMLSelectElement).value as ThemeChoice;
        setChoice(v);
        applyTheme(v);
      }}>
        <option value="system">Theme: system</option>
        <option value="light">Theme: light</option>
        <option value="dark">Theme: dark</option>
      </select>
    </>
  );
}
