// One run, live: the DAG updates from the event stream (states, attempts, durations, cached, fan-out progress), with
// per-attempt logs, fan-out items in a virtualised list, outputs, artifacts with previews and lineage, and trial
// metric curves.
import { useEffect, useMemo, useRef, useState } from 'react';
import { all, api, fmtDuration, fmtTime, items, shortId, subscribe, type Page } from '../api';
import { LineChart } from '../components/Chart';
import { ActionButton, ErrorNote, StateBadge } from '../components/common';
import { StepGraph, type GraphStep } from '../components/StepGraph';
import { VirtualList } from '../components/VirtualList';
import { Link, navigate } from '../router';
import { Preview } from '../components/Preview';

export interface RunStep {
  id: string; uses: string; state: string; attempts: number; cached?: boolean; startedAt?: string; finishedAt?: string; error?: string;
  needs: string[]; items?: { total: number; succeeded: number; failed: number; running: number }; outputs?: Record<string, unknown> | null;
}
export interface Run { id: string; workflow: string; version?: number; state: string; params?: Record<string, unknown>; startedBy: string; createdAt: string; startedAt?: string; finishedAt?: string; steps: RunStep[]; outputs?: Record<string, unknown>; trigger?: string; triggeredBy?: TriggeredBy | null }
/** The event that started a run a declared trigger started (`on:`): the triggering run, monitored batch or file. */
export interface TriggeredBy { kind: string; source: string; eventKey: string; occurredAt: string; event: Record<string, unknown>; deduplicated: number; summary: string }
interface TriggeredRun { workflow: string; on: string; source: string; occurredAt: string; runId?: string | null; deduplicated: boolean; error?: string | null; state?: string | null; step?: string | null; batch?: string | null }
interface Attempt { attempt: number; state: string; worker?: string; startedAt?: string; finishedAt?: string; error?: string }
interface Item { index: number; key?: string; state: string; attempts: number; error?: string }
interface LogLine { at?: string; level?: string; message: string }
interface Artifact { id: string; kind: string; name: string; size?: number | null; rows?: number | null; hash?: string; producedBy?: { runId: string; step: string } }

const terminal = new Set(['succeeded', 'failed', 'stopped', 'cancelled']);

export function RunView({ id, step }: { id: string; step?: string }) {
  const [run, setRun] = useState<Run>();
  const [error, setError] = useState<unknown>();
  const [live, setLive] = useState(false);
  const [logEvents, setLogEvents] = useState<{ step: string; attempt: number; line: LogLine }[]>([]);
  const [itemTick, setItemTick] = useState(0);
  const pending = useRef<ReturnType<typeof setTimeout>>(undefined);

  useEffect(() => {
    let alive = true;
    const load = () => api<Run>(`/runs/${id}`).then((r) => alive && setRun(r)).catch((e) => alive && setError(e));
    load();
    // Events only say what changed; the run is re-read at most ~4 times a second, so a 1,000-item fan-out emitting
    // an event per item does not re-render per event.
    const schedule = () => { if (!pending.current) pending.current = setTimeout(() => { pending.current = undefined; load(); setItemTick((t) => t + 1); }, 250); };
    const stop = subscribe(`runId=${encodeURIComponent(id)}`, (e) => {
      if (e.type === 'log') {
        const d = e.data as { step: string; attempt: number; line: LogLine | string };
        setLogEvents((l) => [...l.slice(-2000), { step: d.step, attempt: d.attempt, line: typeof d.line === 'string' ? { message: d.line } : d.line }]);
      } else schedule();
    }, setLive);
    return () => { alive = false; stop(); clearTimeout(pending.current); };
  }, [id]);

  const graph: GraphStep[] = useMemo(() => (run?.steps ?? []).map((s) => ({
    id: s.id,
    uses: s.uses,
    deps: s.needs.map((n) => ({ id: n, explicit: true })),
    state: s.state,
    detail: [s.attempts > 1 ? `attempt ${s.attempts}` : '', s.startedAt ? fmtDuration(s.startedAt, s.finishedAt) : ''].filter(Boolean).join(' · '),
    badges: s.cached ? ['cached'] : [],
    progress: s.items ? { total: s.items.total, done: s.items.succeeded + s.items.failed, failed: s.items.failed } : undefined,
    error: s.error,
  })), [run]);

  if (error) return <ErrorNote error={error} />;
  if (!run) return <p aria-busy="true">Loading run…</p>;
  const selected = run.steps.find((s) => s.id === step);
  const select = (s?: string) => navigate(`/runs/${id}${s ? `?step=${encodeURIComponent(s)}` : ''}`);

  return (
    <div className="page run">
      <div className="toolbar">
        <h1>Run {run.id.slice(0, 8)} <span className="muted">of <Link to={`/workflows/${encodeURIComponent(run.workflow)}`}>{run.workflow}</Link>{run.version ? ` v${run.version}` : ''}</span></h1>
        <span data-testid="run-state"><StateBadge state={run.state} /></span>
        <span className={`live ${live ? 'on' : ''}`} role="status">{live ? '● live' : '○ reconnecting'}</span>
        <span className="muted">started by {run.startedBy} · {fmtTime(run.createdAt)} · {fmtDuration(run.startedAt ?? run.createdAt, run.finishedAt)}</span>
        {!terminal.has(run.state) && <ActionButton action="cancel" className="danger" data-testid="cancel" onClick={() => api(`/runs/${id}/cancel`, 'POST').then(() => {})}>Cancel run</ActionButton>}
        {['failed', 'cancelled', 'stopped'].includes(run.state) && <ActionButton action="retry" data-testid="retry-run" onClick={() => api(`/runs/${id}/retry`, 'POST').then(() => {})}>Retry run</ActionButton>}
      </div>
      {run.triggeredBy && <TriggerNote by={run.triggeredBy} />}
      <div className="run-grid">
        <StepGraph steps={graph} layoutKey={`run:${run.workflow}`} selected={step} onSelect={select} label="Run graph" />
        <aside className="run-side" aria-label="Step details">
          {selected ? <StepDetail run={run} step={selected} logEvents={logEvents} itemTick={itemTick} /> : (
            <>
              <h2>Steps</h2>
              <table>
                <thead><tr><th>Step</th><th>State</th><th>Attempts</th><th>Duration</th></tr></thead>
                <tbody>{run.steps.map((s) => (
                  <tr key={s.id}>
                    <td><button className="link" onClick={() => select(s.id)}>{s.id}</button></td>
                    <td><StateBadge state={s.state} />{s.cached && <span className="chip">cached</span>}</td>
                    <td>{s.attempts}</td>
                    <td>{fmtDuration(s.startedAt, s.finishedAt)}</td>
                  </tr>
                ))}</tbody>
              </table>
              {run.params && Object.keys(run.params).length > 0 && <><h2>Parameters</h2><pre className="json">{JSON.stringify(run.params, null, 2)}</pre></>}
              {run.outputs && Object.keys(run.outputs).length > 0 && <><h2>Outputs</h2><pre className="json" data-testid="outputs">{JSON.stringify(run.outputs, null, 2)}</pre></>}
              <Artifacts runId={id} finished={terminal.has(run.state)} />
              <TriggeredRuns runId={id} state={run.state} />
            </>
          )}
        </aside>
      </div>
    </div>
  );
}

function StepDetail({ run, step, logEvents, itemTick }: { run: Run; step: RunStep; logEvents: { step: string; attempt: number; line: LogLine }[]; itemTick: number }) {
  const [attempts, setAttempts] = useState<Attempt[]>([]);
  const [attempt, setAttempt] = useState<number>();
  const [logs, setLogs] = useState<LogLine[]>([]);
  const [itemList, setItems] = useState<Item[]>([]);
  const [curves, setCurves] = useState<StepCurves>();
  const [metric, setMetric] = useState<string>();
  const base = `/runs/${run.id}/steps/${encodeURIComponent(step.id)}`;
  useEffect(() => {
    api<Attempt[] | Page<Attempt>>(`${base}/attempts`).then((a) => {
      const list = items(a);
      setAttempts(list);
      setAttempt((cur) => cur ?? list[list.length - 1]?.attempt);
    }).catch(() => {});
  }, [base, step.attempts, step.state]);
  useEffect(() => {
    if (!attempt) return;
    api<{ lines: LogLine[] }>(`${base}/logs?attempt=${attempt}`).then((l) => setLogs(l.lines ?? [])).catch(() => setLogs([]));
  }, [base, attempt, step.state]);
  useEffect(() => {
    if (!step.items) return;
    all<Item>(`${base}/items`, 20000).then(setItems).catch(() => {});
  }, [base, itemTick, !!step.items]);
  useEffect(() => {
    // Curves exist once a training step (or a sweep's trial) has logged them; refreshed as items finish.
    api<StepCurves>(`${base}/metrics${metric ? `?metric=${encodeURIComponent(metric)}` : ''}`).then(setCurves).catch(() => setCurves(undefined));
  }, [base, step.state, metric, step.items ? itemTick : 0]);
  const liveLines = logEvents.filter((e) => e.step === step.id && e.attempt === attempt).map((e) => e.line);
  const shown = [...logs, ...liveLines.filter((l) => !logs.some((x) => x.message === l.message && x.at === l.at))];
  return (
    <div data-testid="step-detail">
      <div className="row">
        <h2>{step.id} <span className="muted">{step.uses}</span></h2>
        <button className="link" onClick={() => navigate(`/runs/${run.id}`)}>All steps</button>
      </div>
      <p><StateBadge state={step.state} />{step.cached && <span className="chip">cached</span>} · {fmtDuration(step.startedAt, step.finishedAt)}</p>
      {step.error && <p className="error" role="note">{step.error}</p>}
      {['failed', 'cancelled', 'stopped'].includes(step.state) && (
        <ActionButton action="retry" onClick={() => api(`/runs/${run.id}/steps/${encodeURIComponent(step.id)}/retry`, 'POST').then(() => {})}>Retry step</ActionButton>
      )}
      {step.items && (
        <>
          <h3>Items <span className="muted">{step.items.succeeded} succeeded · {step.items.running} running · {step.items.failed} failed · {step.items.total} total</span></h3>
          <VirtualList items={itemList} rowHeight={26} height={220} label={`${step.id} fan-out items`} row={(it) => (
            <span className="item-row"><span className="idx">#{it.index}</span> <StateBadge state={it.state} /> {it.key ?? ''} {it.attempts > 1 ? `· ${it.attempts} attempts` : ''} {it.error ? <span className="error-text">{it.error}</span> : null}</span>
          )} />
        </>
      )}
      {attempts.length === 0 && step.items && <p className="help">A fan-out step's attempts belong to its items.</p>}
      {attempts.length > 0 && <><h3>Attempts</h3>
      <table>
        <thead><tr><th>#</th><th>State</th><th>Worker</th><th>Started</th><th>Duration</th><th>Error</th></tr></thead>
        <tbody>{attempts.map((a) => (
          <tr key={a.attempt} className={a.attempt === attempt ? 'current' : ''}>
            <td><button className="link" onClick={() => setAttempt(a.attempt)} aria-pressed={a.attempt === attempt}>{a.attempt}</button></td>
            <td><StateBadge state={a.state} /></td><td>{a.worker}</td><td>{fmtTime(a.startedAt)}</td><td>{fmtDuration(a.startedAt, a.finishedAt)}</td><td>{a.error}</td>
          </tr>
        ))}</tbody>
      </table></>}
      {attempt !== undefined && <>
        <h3>Logs (attempt {attempt})</h3>
        <pre className="logs" data-testid="logs" tabIndex={0} aria-label="Logs">{shown.length === 0 ? <span className="muted-dark">no log lines</span> : shown.map((l, i) => <div key={i} className={`log-${l.level ?? 'info'}`}>{l.at ? `${l.at.slice(11, 23)} ` : ''}{l.message}</div>)}</pre>
      </>}
      {step.outputs && Object.keys(step.outputs).length > 0 && <><h3>Outputs</h3><pre className="json" data-testid="step-outputs">{JSON.stringify(step.outputs, null, 2)}</pre></>}
      {curves && curves.series.length > 0 && <MetricCharts curves={curves} metric={metric} onMetric={setMetric} />}
    </div>
  );
}

interface StepCurves { metric?: string | null; metrics: string[]; truncated?: boolean; series: { label: string; metric: string; points: { step: number; value: number }[] }[] }

/** One chart per metric key, a line per tracked run (trial) over boosting rounds; the metric picker asks the server for another key. */
function MetricCharts({ curves, metric, onMetric }: { curves: StepCurves; metric?: string; onMetric: (m?: string) => void }) {
  const byMetric = useMemo(() => {
    const groups = new Map<string, { label: string; points: { x: number; y: number }[] }[]>();
    for (const s of curves.series) {
      const list = groups.get(s.metric) ?? [];
      list.push({ label: s.label, points: s.points.map((p) => ({ x: p.step, y: p.value })) });
      groups.set(s.metric, list);
    }
    return [...groups];
  }, [curves]);
  return (
    <section aria-label="Metric curves" data-testid="metric-curves">
      <div className="row">
        <h3>Metrics by round</h3>
        {curves.metrics.length > 1 && (
          <label>Metric{' '}
            <select value={metric ?? ''} onChange={(e) => onMetric(e.target.value || undefined)}>
              <option value="">validation (valid_*)</option>
              {curves.metrics.map((m) => <option key={m} value={m}>{m}</option>)}
            </select>
          </label>
        )}
      </div>
      {byMetric.map(([key, series]) => <LineChart key={key} title={`${key} by round`} series={series} />)}
      {curves.truncated && <p className="help">Only the first curves are drawn; pick one metric to see fewer.</p>}
    </section>
  );
}

// What the server previews (tables, HTML reports, text); a model's zip is downloaded instead.
const previewable = (a: Artifact) => a.kind === 'table' || /\.(parquet|html?|json|csv|txt|md|log)$/i.test(a.name);

export function Artifacts({ runId, finished }: { runId: string; finished: boolean }) {
  const [list, setList] = useState<Artifact[]>([]);
  const [open, setOpen] = useState<{ id: string; kind: 'preview' | 'lineage' }>();
  useEffect(() => { api<Artifact[] | Page<Artifact>>(`/runs/${runId}/artifacts`).then((a) => setList(items(a))).catch(() => {}); }, [runId, finished]);
  if (list.length === 0) return null;
  return (
    <section aria-label="Artifacts">
      <h2>Artifacts</h2>
      <table>
        <thead><tr><th>Name</th><th>Kind</th><th>Step</th><th>Size</th><th></th></tr></thead>
        <tbody>{list.map((a) => (
          <tr key={a.id}>
            <td>{a.name}</td><td>{a.kind}</td><td>{a.producedBy?.step}</td><td>{a.size != null ? `${(a.size / 1024).toFixed(1)} KiB` : ''}{a.rows != null ? ` · ${a.rows} rows` : ''}</td>
            <td>
              {previewable(a) && <><button className="link" onClick={() => setOpen({ id: a.id, kind: 'preview' })}>Preview</button>{' '}</>}
              <button className="link" onClick={() => setOpen({ id: a.id, kind: 'lineage' })}>Lineage</button>{' '}
              <a href={`/api/v1/artifacts/${a.id}/content`} download>Download</a>
            </td>
          </tr>
        ))}</tbody>
      </table>
      {open?.kind === 'preview' && <Preview id={open.id} />}
      {open?.kind === 'lineage' && <Lineage id={open.id} />}
    </section>
  );
}

export function Lineage({ id }: { id: string }) {
  const [g, setG] = useState<{ nodes: { id: string; kind: string; label: string }[]; edges: { from: string; to: string; label?: string }[] }>();
  const [error, setError] = useState<unknown>();
  useEffect(() => { api<typeof g>(`/artifacts/${id}/lineage`).then(setG).catch(setError); }, [id]);
  if (error) return <ErrorNote error={error} />;
  if (!g) return <p aria-busy="true">Loading lineage…</p>;
  const steps: GraphStep[] = g.nodes.map((n) => ({ id: n.id, uses: `${n.kind}: ${n.label}`, deps: g.edges.filter((e) => e.to === n.id).map((e) => ({ id: e.from, explicit: true })) }));
  return <div className="lineage"><StepGraph steps={steps} layoutKey={`lineage:${id}`} label="Lineage graph" /></div>;
}

const kindLabel: Record<string, string> = { workflow_succeeded: 'workflow succeeded', monitor_alert: 'monitor alert', file: 'new file' };

/** What started this run: the trigger kind, the triggering run as a link (and for an alert its step and batch), or the file. */
export function TriggerNote({ by }: { by: TriggeredBy }) {
  const e = by.event;
  const runId = typeof e.run_id === 'string' ? e.run_id : undefined;
  const psi = typeof e.max_psi === 'number' ? e.max_psi : undefined;
  return (
    <p className="trigger-note" data-testid="triggered-by" title={by.summary}>
      <span className="chip trigger-kind">{kindLabel[by.kind] ?? by.kind}</span>{' '}
      Triggered by{' '}
      {by.kind === 'file'
        ? <>the file <code>{String(e.path ?? by.eventKey)}</code>{typeof e.size === 'number' ? ` (${e.size} bytes)` : ''}</>
        : <>
            {by.kind === 'monitor_alert' ? <>an alert of monitor <strong>{by.source}</strong> in </> : <>the success of <strong>{by.source}</strong>, </>}
            {runId ? <Link to={`/runs/${runId}${typeof e.step_id === 'string' ? `?step=${encodeURIComponent(e.step_id)}` : ''}`}>run {shortId(runId)}</Link> : 'a run'}
            {by.kind === 'monitor_alert' && <> (step {String(e.step_id ?? '?')}, batch {String(e.batch ?? '?')}{psi !== undefined ? `, max PSI ${psi.toFixed(3)}` : ''})</>}
          </>}
      {' '}at {fmtTime(by.occurredAt)}
      {by.deduplicated > 0 && <span className="muted"> · {by.deduplicated} later event{by.deduplicated === 1 ? '' : 's'} of its window de-duplicated into this run</span>}
    </p>
  );
}

/** The runs this run started through declared triggers (its success, or an alert of one of its monitor steps). */
function TriggeredRuns({ runId, state }: { runId: string; state: string }) {
  const [list, setList] = useState<TriggeredRun[]>([]);
  // Re-read when the run changes state: a success fires its triggers at the leader's next sweep.
  useEffect(() => { api<Page<TriggeredRun>>(`/runs/${runId}/triggered`).then((p) => setList(items(p))).catch(() => {}); }, [runId, state]);
  if (list.length === 0) return null;
  return (
    <section aria-label="Triggered runs" data-testid="triggered-runs">
      <h2>Runs it triggered</h2>
      <table>
        <thead><tr><th>Workflow</th><th>Event</th><th>Run</th><th>When</th></tr></thead>
        <tbody>{list.map((t, i) => (
          <tr key={`${t.workflow}-${t.occurredAt}-${i}`}>
            <td><Link to={`/workflows/${encodeURIComponent(t.workflow)}`}>{t.workflow}</Link></td>
            <td>{kindLabel[t.on] ?? t.on}{t.step ? ` (step ${t.step}${t.batch ? `, batch ${t.batch}` : ''})` : ''}</td>
            <td>
              {t.runId ? <><Link to={`/runs/${t.runId}`}>{shortId(t.runId)}</Link> {t.state && <StateBadge state={t.state} />}</> : null}
              {t.deduplicated && <span className="muted"> (de-duplicated into its window's run)</span>}
              {t.error && <span className="error-text">{t.error}</span>}
            </td>
            <td>{fmtTime(t.occurredAt)}</td>
          </tr>
        ))}</tbody>
      </table>
    </section>
  );
}
