import { api, fmtDuration, fmtTime, items, subscribe, type Page } from '../api';
import { ErrorNote, StateBadge, usePoll } from '../components/common';
import { Link } from '../router';
import { useEffect } from 'react';

export interface RunSummary { id: string; workflow: string; state: string; startedBy: string; createdAt: string; startedAt?: string; finishedAt?: string }

export function Runs({ workflow }: { workflow?: string }) {
  const q = workflow ? `?workflow=${encodeURIComponent(workflow)}&limit=100` : '?limit=100';
  const [list, error, reload] = usePoll(() => api<Page<RunSummary>>(`/runs${q}`).then(items), [q], 10000);
  useEffect(() => subscribe('', (e) => { if (e.type === 'run') reload(); }), []);
  return (
    <div className="page">
      <h1>Runs{workflow ? ` of ${workflow}` : ''}</h1>
      <ErrorNote error={error} />
      <table data-testid="runs">
        <thead><tr><th>Run</th><th>Workflow</th><th>State</th><th>Started by</th><th>Created</th><th>Duration</th></tr></thead>
        <tbody>
          {list?.map((r) => (
            <tr key={r.id}>
              <td><Link to={`/runs/${r.id}`}>{r.id.slice(0, 8)}</Link></td>
              <td>{r.workflow}</td>
              <td><StateBadge state={r.state} /></td>
              <td>{r.startedBy}</td>
              <td>{fmtTime(r.createdAt)}</td>
              <td>{fmtDuration(r.startedAt ?? r.createdAt, r.finishedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
