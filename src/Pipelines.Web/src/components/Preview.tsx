// An artifact's preview: a Parquet table's first rows, an HTML report in a sandboxed frame, or text. Kept apart from
// the run view so the approvals inbox can show a report without loading the graph libraries.
import { useEffect, useState } from 'react';
import { api, ApiError } from '../api';
import { ErrorNote } from './common';

export function Preview({ id }: { id: string }) {
  const [p, setP] = useState<{ columns?: { name: string; type: string }[]; rows?: unknown[][]; html?: string; text?: string }>();
  const [error, setError] = useState<unknown>();
  useEffect(() => { api<typeof p>(`/artifacts/${id}/preview?rows=20`).then(setP).catch(setError); }, [id]);
  if (error) return <ErrorNote error={error instanceof ApiError && error.status === 404 ? new Error('No preview for this artifact.') : error} />;
  if (!p) return <p aria-busy="true">Loading preview…</p>;
  if (p.html !== undefined) return <iframe className="report" title="Report" sandbox="" srcDoc={p.html} />;
  if (p.columns) return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label="Table preview">
      <table className="preview" data-testid="preview">
        <thead><tr>{p.columns.map((c) => <th key={c.name}>{c.name} <span className="type">{c.type}</span></th>)}</tr></thead>
        <tbody>{(p.rows ?? []).map((r, i) => <tr key={i}>{r.map((v, j) => <td key={j}>{v === null ? '∅' : String(v)}</td>)}</tr>)}</tbody>
      </table>
    </div>
  );
  return <pre className="json">{p.text ?? JSON.stringify(p, null, 2)}</pre>;
}
