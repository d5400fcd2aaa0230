import { api, fmtTime, items, type Page } from '../api';
import { ErrorNote, usePoll } from '../components/common';
import { Link } from '../router';
import { useCan } from '../session';

interface Workflow { name: string; version: number; description?: string; updatedAt?: string; updatedBy?: string; schedule?: { cron?: string } | string }

export function Workflows() {
  const [list, error] = usePoll(() => api<Page<Workflow>>('/workflows').then(items), []);
  const canWrite = useCan('write');
  return (
    <div className="page">
      <div className="toolbar">
        <h1>Workflows</h1>
        {canWrite ? <Link to="/workflows/new" className="button primary">New workflow</Link> : <span className="muted" title="Needs the admin role">New workflow (admin)</span>}
      </div>
      <ErrorNote error={error} />
      <table data-testid="workflows">
        <thead><tr><th>Name</th><th>Version</th><th>Description</th><th>Schedule</th><th>Updated</th><th>Runs</th></tr></thead>
        <tbody>
          {list?.map((w) => (
            <tr key={w.name}>
              <td><Link to={`/workflows/${encodeURIComponent(w.name)}`}>{w.name}</Link></td>
              <td>{w.version}</td>
              <td className="desc">{w.description}</td>
              <td>{typeof w.schedule === 'string' ? w.schedule : w.schedule?.cron}</td>
              <td>{fmtTime(w.updatedAt)} {w.updatedBy}</td>
              <td><Link to={`/runs?workflow=${encodeURIComponent(w.name)}`}>runs</Link></td>
            </tr>
          ))}
        </tbody>
      </table>
      {list && list.length === 0 && <p>No workflows yet.</p>}
    </div>
  );
}
