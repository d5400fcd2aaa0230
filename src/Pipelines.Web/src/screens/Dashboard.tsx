// Operators' view of the job system: queue depth, workers with heartbeat and leases, running and failed attempts
// (with retry), schedules (pause, resume, fire now).
import { useEffect, useState } from 'react';
import { api, fmtDuration, fmtTime, items, subscribe, type Page } from '../api';
import { ActionButton, ErrorNote, usePoll } from '../components/common';
import { Link, navigate } from '../router';

interface Queue { queue: string; available: number; running: number; failed: number }
interface Worker { id: string; host: string; pid: number; queues: string[]; heartbeatAt: string; leases: { runId: string; step: string; item?: number; attempt: number; expiresAt: string }[] }
interface AttemptRow { runId: string; workflow: string; step: string; item?: number; attempt: number; worker?: string; startedAt?: string; error?: string }
interface Schedule { workflow: string; cron: string; timezone: string; paused: boolean; nextFire?: string; lastFire?: string }

function list<T>(path: string) { return api<Page<T> | T[]>(path).then(items); }

export function Dashboard() {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((x) => x + 1), 3000);
    const stop = subscribe('', (e) => { if (e.type === 'step' || e.type === 'run') setTick((x) => x + 1); });
    return () => { clearInterval(t); stop(); };
  }, []);
  const [queues, e1] = usePoll(() => list<Queue>('/queues'), [tick]);
  const [workers, e2] = usePoll(() => list<Worker>('/workers'), [tick]);
  const [running, e3] = usePoll(() => list<AttemptRow>('/attempts?state=running&limit=100'), [tick]);
  const [failed, e4] = usePoll(() => list<AttemptRow>('/attempts?state=failed&limit=50'), [tick]);
  const [schedules, e5, reloadSchedules] = usePoll(() => list<Schedule>('/schedules'), [tick]);
  const [actionError, setActionError] = useState<unknown>();
  const act = (f: () => Promise<unknown>) => async () => { setActionError(undefined); try { await f(); setTick((x) => x + 1); } catch (e) { setActionError(e); } };
  const now = Date.now();
  return (
    <div className="page dashboard">
      <h1>Jobs</h1>
      <ErrorNote error={e1 ?? e2 ?? e3 ?? e4 ?? e5 ?? actionError} />
      <div className="dash-grid">
        <section aria-labelledby="h-queues">
          <h2 id="h-queues">Queues</h2>
          <table data-testid="queues"><thead><tr><th>Queue</th><th>Waiting</th><th>Running</th><th>Failed</th></tr></thead>
            <tbody>{queues?.map((q) => <tr key={q.queue}><td>{q.queue}</td><td>{q.available}</td><td>{q.running}</td><td>{q.failed}</td></tr>)}</tbody></table>
        </section>
        <section aria-labelledby="h-workers">
          <h2 id="h-workers">Workers</h2>
          <table data-testid="workers"><thead><tr><th>Worker</th><th>Queues</th><th>Heartbeat</th><th>Leases</th></tr></thead>
            <tbody>{workers?.map((w) => {
              const age = (now - new Date(w.heartbeatAt).getTime()) / 1000;
              return (
                <tr key={w.id} data-testid={`worker-${w.id}`} className={age > 30 ? 'stale' : ''}>
                  <td>{w.host}:{w.pid}<div className="muted small">{w.id}</div></td>
                  <td>{w.queues.join(', ')}</td>
                  <td>{age < 1 ? 'now' : `${Math.round(age)} s ago`}{age > 30 && <span className="worse-tag"> silent</span>}</td>
                  <td>{w.leases.map((l) => <div key={`${l.runId}${l.step}${l.item ?? ''}`}><Link to={`/runs/${l.runId}?step=${encodeURIComponent(l.step)}`}>{l.step}{l.item !== undefined && l.item !== null ? `[${l.item}]` : ''}</Link> attempt {l.attempt}, lease to {fmtTime(l.expiresAt)}</div>)}</td>
                </tr>
              );
            })}</tbody></table>
          {workers && workers.length === 0 && <p className="muted">No live workers.</p>}
        </section>
        <section aria-labelledby="h-running">
          <h2 id="h-running">Running attempts</h2>
          <table data-testid="running"><thead><tr><th>Run</th><th>Step</th><th>Attempt</th><th>Worker</th><th>For</th></tr></thead>
            <tbody>{running?.map((a) => (
              <tr key={`${a.runId}${a.step}${a.item ?? ''}${a.attempt}`}>
                <td><Link to={`/runs/${a.runId}`}>{a.workflow} {a.runId.slice(0, 8)}</Link></td>
                <td>{a.step}{a.item !== undefined && a.item !== null ? `[${a.item}]` : ''}</td><td>{a.attempt}</td><td>{a.worker}</td><td>{fmtDuration(a.startedAt)}</td>
              </tr>
            ))}</tbody></table>
        </section>
        <section aria-labelledby="h-failed">
          <h2 id="h-failed">Failed attempts</h2>
          <table data-testid="failed"><thead><tr><th>Run</th><th>Step</th><th>Attempt</th><th>Worker</th><th>Error</th><th></th></tr></thead>
            <tbody>{failed?.map((a) => (
              <tr key={`${a.runId}${a.step}${a.item ?? ''}${a.attempt}`}>
                <td><Link to={`/runs/${a.runId}`}>{a.workflow} {a.runId.slice(0, 8)}</Link></td>
                <td>{a.step}{a.item !== undefined && a.item !== null ? `[${a.item}]` : ''}</td><td>{a.attempt}</td><td>{a.worker}</td>
                <td className="error-text">{a.error}</td>
                <td><ActionButton action="retry" onClick={act(() => api(`/runs/${a.runId}/steps/${encodeURIComponent(a.step)}/retry`, 'POST'))}>Retry</ActionButton></td>
              </tr>
            ))}</tbody></table>
        </section>
        <section aria-labelledby="h-schedules" className="wide">
          <h2 id="h-schedules">Schedules</h2>
          <table data-testid="schedules"><thead><tr><th>Workflow</th><th>Cron</th><th>Time zone</th><th>Next fire</th><th>Last fire</th><th>State</th><th>Actions</th></tr></thead>
            <tbody>{schedules?.map((s) => (
              <tr key={s.workflow}>
                <td><Link to={`/workflows/${encodeURIComponent(s.workflow)}`}>{s.workflow}</Link></td><td><code>{s.cron}</code></td><td>{s.timezone}</td>
                <td>{s.paused ? '—' : fmtTime(s.nextFire)}</td><td>{fmtTime(s.lastFire)}</td><td>{s.paused ? 'paused' : 'active'}</td>
                <td>
                  <ActionButton action="pause" onClick={act(async () => { await api(`/schedules/${encodeURIComponent(s.workflow)}/${s.paused ? 'resume' : 'pause'}`, 'POST'); reloadSchedules(); })}>{s.paused ? 'Resume' : 'Pause'}</ActionButton>{' '}
                  <ActionButton action="fire" onClick={act(async () => { const r = await api<{ runId: string }>(`/schedules/${encodeURIComponent(s.workflow)}/fire`, 'POST'); if (r?.runId) navigate(`/runs/${r.runId}`); })}>Fire now</ActionButton>
                </td>
              </tr>
            ))}</tbody></table>
        </section>
      </div>
    </div>
  );
}
