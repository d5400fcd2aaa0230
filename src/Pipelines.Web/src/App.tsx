import { lazy, Suspense, useEffect, useState } from 'react';
import { api, subscribe, type Session } from './api';
import { loadSession, signInWithKey, signInWithOidc, signOut, type AuthConfig } from './auth';
import { Link, usePath } from './router';
import { SessionContext } from './session';
import { ErrorBoundary } from './components/ErrorBoundary';
import { Workflows } from './screens/Workflows';
import { Runs } from './screens/Runs';
import { Approvals } from './screens/Approvals';

// The designer carries Monaco, the run view, models and jobs screens the graph and chart libraries: each is loaded
// when first opened, so the first page (workflows, runs, the inbox) stays small.
const Designer = lazy(() => import('./screens/Designer'));
const RunView = lazy(() => import('./screens/RunView').then((m) => ({ default: m.RunView })));
const Models = lazy(() => import('./screens/Models').then((m) => ({ default: m.Models })));
const Triggers = lazy(() => import('./screens/Triggers').then((m) => ({ default: m.Triggers })));
const Challenger = lazy(() => import('./screens/Challenger').then((m) => ({ default: m.Challenger })));
const Dashboard = lazy(() => import('./screens/Dashboard').then((m) => ({ default: m.Dashboard })));

function Login({ config, onSession }: { config: AuthConfig; onSession: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState('');
  return (
    <main className="login" id="main">
      <h1>Pipelines</h1>
      <p>Sign in to design, run and approve workflows.</p>
      {config.oidc && <button className="primary" onClick={() => void signInWithOidc(config)}>Sign in with your organisation</button>}
      <form onSubmit={async (e) => {
        e.preventDefault();
        setError('');
        try { onSession(await signInWithKey(key)); } catch (err) { setError((err as Error).message || 'Sign-in failed'); }
      }}>
        <label htmlFor="apikey">API key</label>
        <input id="apikey" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} placeholder="pk_…" />
        <button type="submit" className="primary" disabled={!key}>Sign in with key</button>
        {error && <p role="alert" className="error">{error}</p>}
      </form>
    </main>
  );
}

function useApprovalBadge(session: Session | null) {
  const [count, setCount] = useState<{ waiting: number; mine: number }>();
  useEffect(() => {
    if (!session) return;
    let alive = true;
    const load = () => api<{ waiting: number; mine: number }>('/approvals/count').then((c) => alive && setCount(c)).catch(() => {});
    load();
    const stop = subscribe('', (e) => { if (e.type === 'approval' || e.type === 'run') load(); });
    const t = setInterval(load, 15000);
    return () => { alive = false; stop(); clearInterval(t); };
  }, [session]);
  return count;
}

export function App() {
  const path = usePath();
  const [state, setState] = useState<{ session: Session | null; config: AuthConfig } | null>(null);
  const [error, setError] = useState('');
  useEffect(() => { loadSession().then(setState).catch((e) => setError(String(e.message ?? e))); }, []);
  const badge = useApprovalBadge(state?.session ?? null);

  if (error) return <main id="main" className="login"><h1>Pipelines</h1><p role="alert" className="error">The server could not be reached: {error}</p></main>;
  if (!state) return <main id="main" className="login" aria-busy="true"><p>Loading…</p></main>;
  if (!state.session) return <Login config={state.config} onSession={(session) => setState({ ...state, session })} />;
  const session = state.session;
  const section = path.split('?')[0].split('/')[1] || 'workflows';
  const nav: [string, string, string][] = [
    ['workflows', '/workflows', 'Workflows'], ['runs', '/runs', 'Runs'], ['approvals', '/approvals', 'Approvals'],
    ['models', '/models', 'Models'], ['triggers', '/triggers', 'Triggers'], ['jobs', '/jobs', 'Jobs'],
  ];
  return (
    <SessionContext.Provider value={session}>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <span className="brand" aria-hidden="true">◆ Pipelines</span>
        <nav aria-label="Main">
          <ul>
            {nav.map(([key, to, label]) => (
              <li key={key}>
                <Link to={to} aria-current={section === key ? 'page' : undefined}>
                  {label}
                  {key === 'approvals' && badge && badge.waiting > 0 && (
                    <span className="badge" data-testid="approval-badge" aria-label={`${badge.waiting} waiting, ${badge.mine} for you`}>{badge.waiting}</span>
                  )}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who" data-testid="who">
          {session.user} <span className="roles">({session.roles.join(', ')}{session.mode === 'local' ? ', local demo mode' : ''})</span>
          {session.mode !== 'local' && <button className="link signout" onClick={async () => { await signOut(); location.href = '/'; }}>Sign out</button>}
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<p aria-busy="true">Loading…</p>}>
          <ErrorBoundary resetKey={path}><Route path={path} /></ErrorBoundary>
        </Suspense>
      </main>
    </SessionContext.Provider>
  );
}

function Route({ path }: { path: string }) {
  const [p, query] = path.split('?');
  const parts = p.split('/').filter(Boolean).map(decodeURIComponent);
  const q = new URLSearchParams(query ?? '');
  switch (parts[0] ?? 'workflows') {
    case 'workflows':
      if (parts[1] === 'new') return <Designer key="new" name={null} />;
      if (parts[1]) return <Designer key={parts[1]} name={parts[1]} />;
      return <Workflows />;
    case 'runs':
      if (parts[1]) return <RunView key={parts[1]} id={parts[1]} step={q.get('step') ?? undefined} />;
      return <Runs workflow={q.get('workflow') ?? undefined} />;
    case 'approvals': return <Approvals />;
    case 'models':
      if (parts[1] && parts[2] === 'challenger') return <Challenger key={parts[1]} name={parts[1]} />;
      return <Models name={parts[1]} />;
    case 'triggers': return <Triggers />;
    case 'jobs': return <Dashboard />;
    default: return <p>Not found. <Link to="/">Go to workflows</Link></p>;
  }
}
