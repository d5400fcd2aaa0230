// A model's champion/challenger series: every batch the challenger shadow-scored beside the champion, both models'
// realized metric on the same labelled rows, the difference, and the promotion policy's verdict with the evidence up
// to that batch (computed by the server with the same rules as the shadow_score activity). Inline SVG, no library.
import { useState } from 'react';
import { api, fmtTime } from '../api';
import { ErrorNote, usePoll } from '../components/common';
import { Link } from '../router';

export interface ChallengerBatch {
  runId: string; step: string; batch: string; recordedAt: string; championVersion: string; challengerVersion: string;
  rows: number; agreement: number; predictionPsi?: number | null; labelled: number;
  champion?: number | null; challenger?: number | null; difference?: number | null;
  evidence: number; propose: boolean; reason: string;
}
export interface ChallengerSeries {
  model: string; monitor: string; total: number; metrics: string[];
  policy: { metric: string; higherIsBetter: boolean; minBatches: number; margin: number; minLabelled: number };
  items: ChallengerBatch[];
}

const fmt = (v?: number | null, d = 4) => (v == null ? '' : v.toFixed(d));
const signed = (v?: number | null) => (v == null ? '' : `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(4)}`);

export function Challenger({ name }: { name: string }) {
  const [metric, setMetric] = useState<string>();
  const [minBatches, setMinBatches] = useState<string>('');
  const [margin, setMargin] = useState<string>('');
  const q = new URLSearchParams();
  if (metric) q.set('metric', metric);
  if (minBatches) q.set('minBatches', minBatches);
  if (margin) q.set('margin', margin);
  const query = q.toString();
  const [series, error] = usePoll(() => api<ChallengerSeries>(`/models/${encodeURIComponent(name)}/challenger${query ? `?${query}` : ''}`), [name, query], 30000);
  const latest = series?.items[series.items.length - 1];
  const metrics = series ? [...new Set([series.policy.metric, ...series.metrics])] : [];
  return (
    <div className="page challenger">
      <div className="toolbar">
        <h1>{name} <span className="muted">champion vs challenger</span></h1>
        <Link to={`/models/${encodeURIComponent(name)}`}>Back to the model</Link>
      </div>
      <ErrorNote error={error} />
      {series && <>
        <form className="row policy" aria-label="Policy" onSubmit={(e) => e.preventDefault()}>
          <label>Metric{' '}
            <select value={series.policy.metric} onChange={(e) => setMetric(e.target.value)} data-testid="challenger-metric">
              {metrics.map((m) => <option key={m} value={m}>{m}</option>)}
            </select>
          </label>
          <label>Batches required{' '}
            <input type="number" min={1} value={minBatches || series.policy.minBatches} onChange={(e) => setMinBatches(e.target.value)} style={{ width: '4.5rem' }} />
          </label>
          <label>Margin{' '}
            <input type="number" min={0} step={0.001} value={margin || series.policy.margin} onChange={(e) => setMargin(e.target.value)} style={{ width: '5.5rem' }} />
          </label>
          <span className="help">Monitor <strong>{series.monitor}</strong> · {series.policy.metric} {series.policy.higherIsBetter ? 'higher' : 'lower'} is better · a batch counts with ≥ {series.policy.minLabelled} labelled rows</span>
        </form>
        {latest
          ? <p className={`verdict ${latest.propose ? 'proposed' : ''}`} data-testid="challenger-verdict" role="status">
              <strong>{latest.propose ? 'Proposed for approval' : 'Not proposed'}</strong>{' '}
              <span className="muted">({latest.evidence} of {series.policy.minBatches} batches of evidence)</span>: {latest.reason}
            </p>
          : <p data-testid="challenger-verdict">No shadow-scored batches in monitor <strong>{series.monitor}</strong> yet. Point the <code>challenger</code> alias at a version and run a scoring workflow with <code>shadow_score</code>.</p>}
        {series.items.length > 0 && <SeriesChart series={series} />}
        {series.total > series.items.length && <p className="help">The newest {series.items.length} of {series.total} batches are shown; all of them count as evidence.</p>}
        {series.items.length > 0 && (
          <div className="table-scroll">
            <table data-testid="challenger-batches">
              <caption className="help">Difference: challenger minus champion in the metric's better direction (positive: the challenger is better).</caption>
              <thead><tr>
                <th>#</th><th>Batch</th><th>Recorded</th><th>Champion</th><th>Challenger</th><th>Rows</th><th>Agreement</th><th>Labelled</th>
                <th>{series.policy.metric} champion</th><th>{series.policy.metric} challenger</th><th>Difference</th><th>Evidence</th><th>Verdict</th>
              </tr></thead>
              <tbody>{series.items.map((b, i) => (
                <tr key={`${b.runId}-${b.step}`} className={b.difference != null && b.difference < -series.policy.margin ? 'worse' : ''}>
                  <td>{i + 1}</td>
                  <td><Link to={`/runs/${b.runId}?step=${encodeURIComponent(b.step)}`}>{b.batch}</Link></td>
                  <td>{fmtTime(b.recordedAt)}</td>
                  <td>v{b.championVersion}</td>
                  <td>v{b.challengerVersion}</td>
                  <td className="num">{b.rows}</td>
                  <td className="num">{fmt(b.agreement, 3)}</td>
                  <td className="num">{b.labelled}</td>
                  <td className="num">{b.champion == null ? <span className="muted">no labels</span> : fmt(b.champion)}</td>
                  <td className="num">{fmt(b.challenger)}</td>
                  <td className={`num ${b.difference == null ? '' : b.difference >= 0 ? 'good' : 'worse-tag'}`}>{signed(b.difference)}</td>
                  <td className="num">{b.evidence} / {series.policy.minBatches}</td>
                  <td title={b.reason}>{b.propose ? <span className="chip proposed">proposed</span> : b.evidence < series.policy.minBatches ? <span className="chip">not yet</span> : <span className="chip rejected">not proposed</span>}</td>
                </tr>
              ))}</tbody>
            </table>
          </div>
        )}
      </>}
      {!series && !error && <p aria-busy="true">Loading the challenger series…</p>}
    </div>
  );
}

const W = 900, H = 280, L = 56, R = 40, T = 16, B = 44;
const colors = { champion: '#1f5fbf', challenger: '#b35900' };

/** Both models' realized metric per batch (gaps where labels have not arrived); a filled marker where the policy proposed. */
function SeriesChart({ series }: { series: ChallengerSeries }) {
  const pts = series.items;
  const values = pts.flatMap((b) => [b.champion, b.challenger]).filter((v): v is number => v != null);
  const metric = series.policy.metric;
  if (values.length === 0) return <p className="help" data-testid="challenger-chart">No realized {metric} yet: the labels of these batches have not been joined (challenger_labels).</p>;
  let lo = Math.min(...values), hi = Math.max(...values);
  const pad = (hi - lo) * 0.15 || Math.max(Math.abs(hi) * 0.05, 0.01);
  lo -= pad; hi += pad;
  const x = (i: number) => L + (pts.length === 1 ? (W - L - R) / 2 : (i * (W - L - R)) / (pts.length - 1));
  const y = (v: number) => T + ((hi - v) * (H - T - B)) / (hi - lo);
  const ticks = Array.from({ length: 5 }, (_, k) => lo + ((hi - lo) * k) / 4);
  const path = (get: (b: ChallengerBatch) => number | null | undefined) => {
    let d = '', open = false;
    pts.forEach((b, i) => {
      const v = get(b);
      if (v == null) { open = false; return; }
      d += `${open ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
      open = true;
    });
    return d.trim();
  };
  // Where the pair of versions changes, the evidence starts again: a dashed line marks it.
  const pairChanges = pts.map((b, i) => i > 0 && (b.championVersion !== pts[i - 1].championVersion || b.challengerVersion !== pts[i - 1].challengerVersion) ? i : -1).filter((i) => i > 0);
  const labelEvery = Math.max(1, Math.ceil(pts.length / 12));
  return (
    <figure className="chart svg-chart" data-testid="challenger-chart">
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" style={{ maxWidth: W }} role="img" aria-labelledby="challenger-chart-title">
        <title id="challenger-chart-title">{`${metric} per shadow-scored batch: champion and challenger`}</title>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={L} x2={W - R} y1={y(t)} y2={y(t)} stroke="#e5e7eb" />
            <text x={L - 6} y={y(t) + 4} textAnchor="end" fontSize="11" fill="#57606a">{t.toFixed(3)}</text>
          </g>
        ))}
        <line x1={L} x2={L} y1={T} y2={H - B} stroke="#8c959f" />
        <line x1={L} x2={W - R} y1={H - B} y2={H - B} stroke="#8c959f" />
        {pairChanges.map((i) => (
          <g key={`pair-${i}`}>
            <line x1={(x(i) + x(i - 1)) / 2} x2={(x(i) + x(i - 1)) / 2} y1={T} y2={H - B} stroke="#8c959f" strokeDasharray="4 3" />
            <text x={(x(i) + x(i - 1)) / 2 + 4} y={T + 10} fontSize="10" fill="#57606a">v{pts[i].challengerVersion} vs v{pts[i].championVersion}</text>
          </g>
        ))}
        {pts.map((b, i) => i % labelEvery === 0 || i === pts.length - 1 ? (
          <text key={`x-${i}`} x={x(i)} y={H - B + 16} textAnchor={pts.length > 1 && i === pts.length - 1 ? 'end' : 'middle'} fontSize="11" fill="#57606a">{b.batch.length > 14 ? `${b.batch.slice(0, 13)}…` : b.batch}</text>
        ) : null)}
        <text x={(L + W - R) / 2} y={H - 6} textAnchor="middle" fontSize="11" fill="#57606a">shadow-scored batch (oldest first)</text>
        <path d={path((b) => b.champion)} fill="none" stroke={colors.champion} strokeWidth="2" />
        <path d={path((b) => b.challenger)} fill="none" stroke={colors.challenger} strokeWidth="2" strokeDasharray="6 3" />
        {pts.map((b, i) => (
          <g key={`p-${i}`}>
            {b.champion != null && <circle cx={x(i)} cy={y(b.champion)} r="3.5" fill={colors.champion}><title>{`${b.batch}: champion v${b.championVersion} ${metric} ${fmt(b.champion)}`}</title></circle>}
            {b.challenger != null && <circle cx={x(i)} cy={y(b.challenger)} r={b.propose ? 5.5 : 3.5} fill={b.propose ? '#1a7f37' : '#fff'} stroke={colors.challenger} strokeWidth="2">
              <title>{`${b.batch}: challenger v${b.challengerVersion} ${metric} ${fmt(b.challenger)} (${signed(b.difference)}); ${b.evidence} of ${series.policy.minBatches} batches${b.propose ? ', proposed' : ''}`}</title>
            </circle>}
          </g>
        ))}
      </svg>
      <figcaption className="legend">
        <span><svg width="26" height="10" aria-hidden="true"><line x1="0" x2="26" y1="5" y2="5" stroke={colors.champion} strokeWidth="2" /></svg> champion</span>
        <span><svg width="26" height="10" aria-hidden="true"><line x1="0" x2="26" y1="5" y2="5" stroke={colors.challenger} strokeWidth="2" strokeDasharray="6 3" /></svg> challenger</span>
        <span><svg width="12" height="12" aria-hidden="true"><circle cx="6" cy="6" r="5" fill="#1a7f37" stroke={colors.challenger} strokeWidth="1.5" /></svg> proposed by the policy</span>
      </figcaption>
    </figure>
  );
}
