// Event triggers (`on:` in a workflow): what each waits for, its de-duplication window, when it last fired and the
// run it last started. Registered by the same sync as schedules (`pipelines schedules sync`, `--workflows`).
import { api, fmtTime, items, shortId, subscribe, type Page } from '../api';
import { ErrorNote, usePoll } from '../components/common';
import { Link } from '../router';
import { useEffect } from 'react';

export interface Trigger {
  workflow: string; on: string; source: string; window?: string | null; enabled: boolean; since: string;
  events: number; runsStarted: number; lastEventAt?: string | null; lastRunId?: string | null;
}

const onLabel: Record<string, string> = { workflow_succeeded: 'workflow succeeded', monitor_alert: 'monitor alert', file: 'new file' };

/** Where the event comes from, linked when it is a workflow. */
function Source({ t }: { t: Trigger }) {
  if (t.on === 'workflow_succeeded') return <Link to={`/workflows/${encodeURIComponent(t.source)}`}>{t.source}</Link>;
  if (t.on === 'file') return <code>{t.source}</code>;
  return <>{t.source}</>;
}

export function Triggers() {
  const [list, error, reload] = usePoll(() => api<Page<Trigger>>('/triggers').then(items), [], 15000);
  // A run a trigger started shows up as a run event: re-read then rather than wait for the poll.
  useEffect(() => subscribe('', (e) => { if (e.type === 'run') reload(); }), []);
  return (
    <div className="page">
      <h1>Triggers</h1>
      <p className="help">Workflows that start on an event (<code>on:</code>): another workflow's success, a monitor's alert, a new file. With a window, one run per window; later events of it are de-duplicated into that run.</p>
      <ErrorNote error={error} />
      <table data-testid="triggers">
        <thead><tr><th>Workflow</th><th>On</th><th>Source</th><th>Window</th><th>Events</th><th>Runs started</th><th>Last fired</th><th>Last run</th></tr></thead>
        <tbody>{list?.map((t) => (
          <tr key={`${t.workflow}:${t.on}:${t.source}`} className={t.enabled ? '' : 'disabled'}>
            <td><Link to={`/workflows/${encodeURIComponent(t.workflow)}`}>{t.workflow}</Link>{!t.enabled && <span className="chip">disabled</span>}</td>
            <td>{onLabel[t.on] ?? t.on}</td>
            <td><Source t={t} /></td>
            <td>{t.window ?? <span className="muted">none</span>}</td>
            <td>{t.events}</td>
            <td>{t.runsStarted}</td>
            <td>{t.lastEventAt ? fmtTime(t.lastEventAt) : <span className="muted">never</span>}</td>
            <td>{t.lastRunId ? <Link to={`/runs/${t.lastRunId}`}>{shortId(t.lastRunId)}</Link> : ''}</td>
          </tr>
        ))}</tbody>
      </table>
      {list && list.length === 0 && <p>No workflow declares a trigger. Add <code>on:</code> to a workflow and sync it.</p>}
    </div>
  );
}
