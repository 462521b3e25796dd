// The app shell: finds out who is signed in, routes to a page (loading its module on demand),
// keeps signed-out people on the public pages, and reports page views.

import './styles.css';
import type { ComponentType } from 'preact';
import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, ApiError, onSignedOut } from './api/client';
import type { Me } from './api/types';
import { match, navigate, onLinkClick, useLocation } from './lib/router';
import { atLeast, onSignedIn, SessionContext, type Session } from './lib/session';
import { identify, reportPageLoad, track } from './lib/telemetry';
import { startNotifications } from './lib/notifications';
import { HOME, routes, type PageProps, type RouteDef } from './routes';
import { Layout } from './ui/Layout';
import { ErrorBox, Loading } from './ui/states';
import { Toasts } from './ui/toast';

type Auth = { state: 'checking' } | { state: 'anon' } | { state: 'error'; error: unknown } | { state: 'in'; me: Me };

const loaded = new Map<RouteDef, ComponentType<PageProps>>();

function LazyPage({ route, props }: { route: RouteDef; props: PageProps }) {
  const [Page, setPage] = useState<ComponentType<PageProps> | undefined>(() => loaded.get(route));
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (loaded.has(route)) return setPage(() => loaded.get(route));
    setPage(undefined);
    let live = true;
    route.load().then(
      (m) => {
        loaded.set(route, m.default);
        if (live) setPage(() => m.default);
      },
      (e: unknown) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [route]);
  useEffect(() => {
    if (Page) reportPageLoad(route.name);
  }, [Page, route]);
  if (error) return <ErrorBox error={new Error('This page could not be loaded. Reload to try again.')} />;
  return Page ? <Page {...props} /> : <Loading />;
}

function findRoute(path: string): { route: RouteDef; params: Record<string, string> } | null {
  for (const route of routes) {
    const params = match(route.pattern, path);
    if (params) return { route, params };
  }
  return null;
}

function NotFound() {
  return (
    <div class="state empty">
      <p class="state-title">There is no page at this address.</p>
      <a href={HOME}>Go to the dashboard</a>
    </div>
  );
}

function App() {
  const loc = useLocation();
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const mainRef = useRef<string>('');

  const loadMe = async () => {
    try {
      const me = await api.get<Me>('/api/auth/me', { quiet401: true });
      identify(me.user.id, atLeast(me.role, 'member'));
      setAuth({ state: 'in', me });
    } catch (e) {
      identify(undefined, false);
      setAuth(e instanceof ApiError && e.status === 401 ? { state: 'anon' } : { state: 'error', error: e });
    }
  };

  useEffect(() => {
    void loadMe();
    const offIn = onSignedIn((me) => {
      identify(me.user.id, atLeast(me.role, 'member'));
      setAuth({ state: 'in', me });
    });
    const offOut = onSignedOut(() => {
      identify(undefined, false);
      setAuth({ state: 'anon' });
    });
    return () => {
      offIn();
      offOut();
    };
  }, []);

  const signedIn = auth.state === 'in';
  useEffect(() => (signedIn ? startNotifications() : undefined), [signedIn, auth.state === 'in' ? auth.me.user.id : '']);

  const found = findRoute(loc.path);

  // Redirects: the root to the dashboard; signed-out people to sign-in (and back afterwards).
  useEffect(() => {
    if (loc.path === '/') return navigate(HOME, { replace: true });
    if (auth.state === 'anon' && found && !found.route.public) {
      const next = loc.path + (loc.query.toString() ? '?' + loc.query.toString() : '');
      navigate(`/sign-in?next=${encodeURIComponent(next)}`, { replace: true });
    }
    if (auth.state === 'in' && found && (found.route.name === 'sign_in' || found.route.name === 'sign_up')) {
      const next = loc.query.get('next');
      navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : HOME, { replace: true });
    }
  }, [auth.state, loc.path, found?.route]);

  // Page views (once we know who is looking), the title, and focus to the page for keyboard and
  // screen-reader users.
  const known = auth.state !== 'checking';
  useEffect(() => {
    if (!found || !known) return;
    document.title = `${found.route.title} · Beacon`;
    track(`app.${found.route.name}`, 'view', { path: found.route.pattern });
    if (mainRef.current && mainRef.current !== loc.path) document.getElementById('main')?.focus({ preventScroll: true });
    mainRef.current = loc.path;
  }, [loc.path, known]);

  const session = useMemo<Session | null>(
    () =>
      auth.state === 'in'
        ? {
            me: auth.me,
            refresh: loadMe,
            signOut: async () => {
              track('app', 'sign_out');
              try {
                await api.post('/api/auth/logout');
              } finally {
                identify(undefined, false);
                setAuth({ state: 'anon' });
                navigate('/sign-in');
              }
            },
          }
        : null,
    [auth],
  );

  if (auth.state === 'checking') return <Loading label="Loading Beacon…" />;
  if (auth.state === 'error')
    return (
      <main class="centered">
        <ErrorBox error={auth.error} onRetry={() => void loadMe()} />
      </main>
    );

  const props: PageProps = { params: found?.params ?? {}, query: loc.query };
  if (found?.route.public) {
    return (
      <SessionContext.Provider value={session}>
        <main class="centered" id="main" tabIndex={-1}>
          <LazyPage route={found.route} props={props} />
        </main>
        <Toasts />
      </SessionContext.Provider>
    );
  }
  if (!session) return <Loading />;
  return (
    <SessionContext.Provider value={session}>
      <Layout path={loc.path}>{found ? <LazyPage key={found.route.pattern} route={found.route} props={props} /> : <NotFound />}</Layout>
    </SessionContext.Provider>
  );
}

document.addEventListener('click', onLinkClick);
// Fetch the first page's module while `me` is being asked, not after.
const first = findRoute(window.location.pathname);
if (first) first.route.load().then((m) => loaded.set(first.route, m.default), () => undefined);
const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  render(<App />, root);
}
