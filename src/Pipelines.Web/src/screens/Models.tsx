// The model registry: models, versions with metrics and lineage, aliases; promote and roll back after confirmation.
import { useState } from 'react';
import { api, fmtTime, items, type Page } from '../api';
import { ActionButton, Confirm, ErrorNote, usePoll } from '../components/common';
import { Link } from '../router';
import { Lineage } from './RunView';

interface ModelSummary { name: string; latestVersion: number | string; aliases: Record<string, string | number>; updatedAt?: string }
interface ModelVersion { version: number | string; runId?: string; metrics?: Record<string, number>; createdAt?: string; aliases?: string[]; artifactId?: string }
interface Model { name: string; versions: ModelVersion[]; aliases: Record<string, string | number> }

export function Models({ name }: { name?: string }) {
  if (name) return <ModelDetail name={name} />;
  return <ModelList />;
}

function ModelList() {
  const [list, error] = usePoll(() => api<Page<ModelSummary>>('/models').then(items), [], 15000);
  return (
    <div className="page">
      <h1>Models</h1>
      <ErrorNote error={error} />
      <table data-testid="models">
        <thead><tr><th>Model</th><th>Latest version</th><th>Aliases</th><th>Updated</th></tr></thead>
        <tbody>{list?.map((m) => (
          <tr key={m.name}>
            <td><Link to={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link></td>
            <td>{m.latestVersion}</td>
            <td>{Object.entries(m.aliases ?? {}).map(([a, v]) => <span key={a} className="chip">{a} → v{v}</span>)}</td>
            <td>{fmtTime(m.updatedAt)}</td>
          </tr>
        ))}</tbody>
      </table>
      {list && list.length === 0 && <p>No registered models yet.</p>}
    </div>
  );
}

function ModelDetail({ name }: { name: string }) {
  const [model, error, reload] = usePoll(() => api<Model>(`/models/${encodeURIComponent(name)}`), [name], 15000);
  const [confirm, setConfirm] = useState<{ kind: 'promote'; version: string | number } | { kind: 'rollback'; alias: string }>();
  const [actionError, setActionError] = useState<unknown>();
  const [lineage, setLineage] = useState<string>();
  const [message, setMessage] = useState('');
  if (error) return <ErrorNote error={error} />;
  if (!model) return <p aria-busy="true">Loading model…</p>;
  const metricKeys = [...new Set(model.versions.flatMap((v) => Object.keys(v.metrics ?? {})))].filter((k) => !k.includes('.')).slice(0, 5);
  const champion = model.aliases?.champion;
  return (
    <div className="page">
      <div className="toolbar">
        <h1>{model.name}</h1>
        <span data-testid="aliases">{Object.entries(model.aliases ?? {}).map(([a, v]) => <span key={a} className="chip">{a} → v{v}</span>)}</span>
        <Link to={`/models/${encodeURIComponent(model.name)}/challenger`} className="button">Champion vs challenger</Link>
        {champion !== undefined && <ActionButton action="promote" data-testid="rollback" onClick={() => setConfirm({ kind: 'rollback', alias: 'champion' })}>Roll back champion</ActionButton>}
        {message && <span role="status" className="good">{message}</span>}
      </div>
      <ErrorNote error={actionError} />
      <table data-testid="versions">
        <thead><tr><th>Version</th><th>Aliases</th>{metricKeys.map((k) => <th key={k}>{k}</th>)}<th>Run</th><th>Created</th><th>Actions</th></tr></thead>
        <tbody>{[...model.versions].sort((a, b) => Number(b.version) - Number(a.version)).map((v) => (
          <tr key={v.version} className={String(champion) === String(v.version) ? 'current' : ''}>
            <td>v{v.version}</td>
            <td>{(v.aliases ?? []).map((a) => <span key={a} className="chip">{a}</span>)}</td>
            {metricKeys.map((k) => <td key={k}>{v.metrics?.[k]?.toFixed(4)}</td>)}
            <td>{v.runId ? <Link to={`/runs/${v.runId}`}>{v.runId.slice(0, 8)}</Link> : ''}</td>
            <td>{fmtTime(v.createdAt)}</td>
            <td>
              {String(champion) !== String(v.version) && <ActionButton action="promote" data-testid={`promote-${v.version}`} onClick={() => setConfirm({ kind: 'promote', version: v.version })}>Promote</ActionButton>}
              {v.artifactId && <button className="link" onClick={() => setLineage(v.artifactId)}>Lineage</button>}
            </td>
          </tr>
        ))}</tbody>
      </table>
      {lineage && <><h2>Lineage</h2><Lineage id={lineage} /></>}
      {confirm && (
        <Confirm
          title={confirm.kind === 'promote' ? `Promote v${confirm.version} to champion?` : 'Roll back the champion?'}
          confirm={confirm.kind === 'promote' ? 'Promote' : 'Roll back'}
          onCancel={() => setConfirm(undefined)}
          onConfirm={async () => {
            const c = confirm;
            setConfirm(undefined);
            setActionError(undefined);
            try {
              if (c.kind === 'promote') { await api(`/models/${encodeURIComponent(name)}/promote`, 'POST', { version: c.version, alias: 'champion' }); setMessage(`v${c.version} is now champion`); }
              else { await api(`/models/${encodeURIComponent(name)}/rollback`, 'POST', { alias: c.alias }); setMessage('Champion rolled back'); }
              reload();
            } catch (e) { setActionError(e); }
          }}>
          {confirm.kind === 'promote'
            ? <p>Version {confirm.version} becomes <strong>champion</strong>{champion !== undefined ? ` (v${champion} becomes previous-champion)` : ''}. Scoring workflows use it from their next run.</p>
            : <p>The champion goes back to the previous champion (currently v{champion}).</p>}
        </Confirm>
      )}
    </div>
  );
}
