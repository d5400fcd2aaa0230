// The approvals inbox: what waits for me first, the candidate against the champion metric by metric, the evaluation
// report, and a decision with a comment. The server enforces four-eyes; the UI says why a decision is not mine.
import { useEffect, useState } from 'react';
import { api, ApiError, fmtTime, items, subscribe, type Page } from '../api';
import { ErrorNote, usePoll } from '../components/common';
import { Link } from '../router';
import { useCan, whyNot } from '../session';
import { Preview } from '../components/Preview';

interface Approval {
  id: string; runId: string; workflow: string; step: string; requestedAt: string; requestedBy: string; canDecide: boolean; whyNot?: string;
  candidate?: { metrics?: Record<string, number> }; champion?: { metrics?: Record<string, number> } | null; reportArtifactId?: string;
  decision?: { approved: boolean; by: string; at: string; comment?: string }; summary?: unknown; expiresAt?: string;
  primaryMetric?: string | null; slices?: Slice[];
}
interface Slice { column: string; value: string; rows: number; candidate?: number | null; champion?: number | null; change?: number | null; worse: boolean }

// Metrics where lower is better; everything else (AUC, accuracy, F1…) is higher-is-better.
const lowerIsBetter = /(loss|error|rmse|mae|mse|logloss|brier|latency)/i;

function MetricTable({ a }: { a: Approval }) {
  const cand = a.candidate?.metrics ?? {};
  const champ = a.champion?.metrics ?? {};
  const keys = [...new Set([...Object.keys(cand), ...Object.keys(champ)])].sort((x, y) => (x.includes('.') ? 1 : 0) - (y.includes('.') ? 1 : 0) || x.localeCompare(y));
  if (keys.length === 0) return <p className="muted">No metrics recorded.</p>;
  return (
    <table className="metrics">
      <caption>Candidate against {a.champion ? 'champion' : 'no champion yet'}</caption>
      <thead><tr><th>Metric</th><th>Candidate</th><th>Champion</th><th>Change</th></tr></thead>
      <tbody>{keys.map((k) => {
        const c = cand[k], p = champ[k];
        const d = typeof c === 'number' && typeof p === 'number' ? c - p : undefined;
        const worse = d !== undefined && (lowerIsBetter.test(k) ? d > 0 : d < 0);
        return (
          <tr key={k} className={worse ? 'worse' : ''}>
            <th scope="row">{k}</th>
            <td>{c?.toFixed?.(4) ?? ''}</td>
            <td>{p?.toFixed?.(4) ?? '—'}</td>
            <td>{d === undefined ? '' : `${d >= 0 ? '+' : ''}${d.toFixed(4)}`}{worse && <span className="worse-tag"> worse</span>}</td>
          </tr>
        );
      })}</tbody>
    </table>
  );
}

/** The holdout's slices on the primary metric, those where the candidate is worse than the champion first (the server orders them). */
function SliceTable({ a }: { a: Approval }) {
  const slices = a.slices ?? [];
  if (slices.length === 0 || !a.primaryMetric) return null;
  const worse = slices.filter((x) => x.worse).length;
  const f = (v?: number | null) => (typeof v === 'number' ? v.toFixed(4) : '—');
  return (
    <table className="metrics" data-testid="slices">
      <caption>Slices by {a.primaryMetric}: {worse === 0 ? 'the candidate is worse in none' : `the candidate is worse in ${worse}`}</caption>
      <thead><tr><th>Slice</th><th>Rows</th><th>Candidate</th><th>Champion</th><th>Change</th></tr></thead>
      <tbody>{slices.slice(0, 20).map((x) => (
        <tr key={`${x.column}=${x.value}`} className={x.worse ? 'worse' : ''}>
          <th scope="row">{x.column} = {x.value}</th>
          <td>{x.rows}</td><td>{f(x.candidate)}</td><td>{f(x.champion)}</td>
          <td>{typeof x.change === 'number' ? `${x.change >= 0 ? '+' : ''}${x.change.toFixed(4)}` : ''}{x.worse && <span className="worse-tag"> worse</span>}</td>
        </tr>
      ))}</tbody>
    </table>
  );
}

function Decide({ a, onDone }: { a: Approval; onDone: () => void }) {
  const [comment, setComment] = useState('');
  const [error, setError] = useState<unknown>();
  const mayDecide = useCan('decide');
  const reason = !mayDecide ? whyNot('decide') : !a.canDecide ? a.whyNot ?? `Four-eyes: ${a.requestedBy} started this run, so another person decides.` : undefined;
  const decide = async (approved: boolean) => {
    setError(undefined);
    try { await api(`/approvals/${a.id}/decision`, 'POST', { approved, comment }); onDone(); } catch (e) { setError(e); }
  };
  const cid = `comment-${a.id}`;
  return (
    <div className="decide">
      {reason && <p className="note" data-testid="why-not"><strong>Why you cannot decide:</strong> {reason}</p>}
      <label htmlFor={cid}>Comment</label>
      <textarea id={cid} rows={2} value={comment} onChange={(e) => setComment(e.target.value)} placeholder="why" />
      <div className="row">
        <button className="primary" data-testid="approve" onClick={() => decide(true)} disabled={!mayDecide} title={reason}>Approve</button>
        <button className="danger" data-testid="reject" onClick={() => decide(false)} disabled={!mayDecide} title={reason}>Reject</button>
      </div>
      {error ? <div data-testid="decision-error"><ErrorNote error={error instanceof ApiError && error.status === 403 ? Object.assign(error, { message: error.problem.detail ?? error.message }) : error} /></div> : null}
    </div>
  );
}

export function Approvals() {
  const [tab, setTab] = useState<'waiting' | 'decided'>('waiting');
  const [list, error, reload] = usePoll(() => api<Page<Approval>>(`/approvals?state=${tab}`).then(items), [tab], 15000);
  const [report, setReport] = useState<string>();
  useEffect(() => subscribe('', (e) => { if (e.type === 'approval') reload(); }), []);
  const sorted = [...(list ?? [])].sort((x, y) => Number(y.canDecide) - Number(x.canDecide));
  return (
    <div className="page">
      <h1>Approvals</h1>
      <div role="tablist" className="tabs" aria-label="Approvals">
        <button role="tab" aria-selected={tab === 'waiting'} onClick={() => setTab('waiting')}>Waiting</button>
        <button role="tab" aria-selected={tab === 'decided'} onClick={() => setTab('decided')}>History</button>
      </div>
      <p className="help">Four-eyes: the person who started a run cannot approve it (unless its workflow allows self-approval); the server refuses it.</p>
      <ErrorNote error={error} />
      {sorted.length === 0 && list && <p>{tab === 'waiting' ? 'Nothing waits for a decision.' : 'No decisions yet.'}</p>}
      <ul className="cards" data-testid="approvals">
        {sorted.map((a) => (
          <li key={a.id} className={`card ${a.canDecide ? 'mine' : ''}`} data-testid={`approval-${a.runId}`}>
            <h2>{a.workflow} · {a.step} {a.canDecide && tab === 'waiting' && <span className="chip">for you</span>}</h2>
            <p className="muted">Run <Link to={`/runs/${a.runId}?step=${encodeURIComponent(a.step)}`}>{a.runId.slice(0, 8)}</Link> started by {a.requestedBy} · requested {fmtTime(a.requestedAt)}{a.expiresAt && !a.decision ? ` · expires ${fmtTime(a.expiresAt)}` : ''}</p>
            {a.summary !== undefined && a.summary !== null && (
              typeof a.summary === 'string' ? <p className="summary">{a.summary}</p>
                : <dl className="summary">{Object.entries(a.summary as Record<string, unknown>)
                    // Metrics, slices and the champion are in the tables below; the rest (task, notes…) is listed.
                    .filter(([, v]) => v === null || typeof v !== 'object').filter(([k, v]) => !(typeof v === 'number' && k in (a.candidate?.metrics ?? {})))
                    .map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{String(v)}</dd></div>)}</dl>
            )}
            <MetricTable a={a} />
            <SliceTable a={a} />
            {a.reportArtifactId && (
              report === a.id ? <Preview id={a.reportArtifactId} /> : <button className="link" onClick={() => setReport(a.id)}>Show the evaluation report</button>
            )}
            {a.decision ? (
              <p data-testid="decision"><strong>{a.decision.approved ? 'Approved' : 'Rejected'}</strong> by {a.decision.by} at {fmtTime(a.decision.at)}{a.decision.comment ? `: “${a.decision.comment}”` : ''}</p>
            ) : <Decide a={a} onDone={reload} />}
          </li>
        ))}
      </ul>
    </div>
  );
}
