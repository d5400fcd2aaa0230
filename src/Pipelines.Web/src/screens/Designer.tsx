// The workflow designer: palette, graph and step forms on one side, the YAML in Monaco on the other, both editing
// the same text live. The YAML text is the only source of truth (graph layout lives in localStorage), so saving an
// unedited workflow stores exactly the bytes that were loaded.
import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import { api, ApiError, items, fmtTime, type Page } from '../api';
import { ActionButton, ErrorNote } from '../components/common';
import { SchemaForm, Field, type JsonSchema } from '../components/SchemaForm';
import { StepGraph, type GraphStep } from '../components/StepGraph';
import { navigate, Link } from '../router';
import { useCan } from '../session';
import { addStep, dependencies, newStepId, readWorkflow, removeStep, setIn, setNeeds, setStepField, stepAtLine, type StepModel, type WorkflowModel } from '../yamlEdit';
import type { Marker } from '../components/Monaco';

const Monaco = lazy(() => import('../components/Monaco'));

export interface Activity { kind: string; version?: string | number; description?: string; inputSchema?: JsonSchema; outputs?: unknown[] }
interface ValidationError { line: number; column: number; message: string; path?: string }
interface Version { version: number; createdAt: string; createdBy: string; comment?: string }

const EMPTY = 'name: new-workflow\ndescription: \nsteps: []\n';

function kindOf(uses: string) { return uses.replace(/@.*$/, ''); }

function errorStep(model: WorkflowModel, e: ValidationError): string | undefined {
  const m = e.path?.match(/^\$?\.?steps\[(\d+)\]/) ?? e.path?.match(/^steps\.(\d+)/);
  if (m) return model.steps[Number(m[1])]?.id;
  return stepAtLine(model, e.line);
}

export default function Designer({ name }: { name: string | null }) {
  const canWrite = useCan('write');
  const [text, setText] = useState<string | null>(name ? null : EMPTY);
  const [loaded, setLoaded] = useState<{ yaml: string; version?: number }>();
  const [loadError, setLoadError] = useState<unknown>();
  const [activities, setActivities] = useState<Activity[]>([]);
  const [serverErrors, setServerErrors] = useState<ValidationError[]>([]);
  const [selected, setSelected] = useState<string>();
  const [saveState, setSaveState] = useState<{ error?: unknown; message?: string }>({});
  const [comment, setComment] = useState('');
  const [panel, setPanel] = useState<'step' | 'workflow' | 'history' | 'run'>('workflow');
  const [reveal, setReveal] = useState<number>();

  useEffect(() => {
    api<Page<Activity> | Activity[]>('/activities').then((a) => setActivities(items(a))).catch(() => {});
    Promise.all([api('/workflow-schema').catch(() => undefined), import('../components/Monaco')]).then(([schema, m]) => {
      api<Page<Activity> | Activity[]>('/activities').then((a) => m.setCompletionSources(schema, items(a).map((x) => ({ kind: x.kind, description: x.description })))).catch(() => m.setCompletionSources(schema, []));
    });
    if (name) {
      api<{ yaml: string; version: number }>(`/workflows/${encodeURIComponent(name)}`)
        .then((w) => { setLoaded({ yaml: w.yaml, version: w.version }); setText(w.yaml); })
        .catch(setLoadError);
    }
  }, [name]);

  const model = useMemo(() => readWorkflow(text ?? ''), [text]);
  const ids = useMemo(() => new Set(model.steps.map((s) => s.id)), [model]);

  // The server validates (same file:line:col as `pipelines validate`); debounced while typing.
  useEffect(() => {
    if (text === null) return;
    const t = setTimeout(() => {
      api<{ valid: boolean; errors: ValidationError[] }>('/workflows/validate', 'POST', { yaml: text })
        .then((r) => setServerErrors(r.errors ?? []))
        .catch((e) => { if (e instanceof ApiError && e.problem.errors) setServerErrors([]); });
    }, 400);
    return () => clearTimeout(t);
  }, [text]);

  const allErrors: ValidationError[] = [...model.parseErrors, ...serverErrors];
  const markers: Marker[] = allErrors.map((e) => ({ line: e.line || 1, column: e.column || 1, message: e.message }));

  const graphSteps: GraphStep[] = model.steps.map((s) => {
    const errs = allErrors.filter((e) => errorStep(model, e) === s.id);
    const badges: string[] = [];
    if (s.forEach) badges.push('for_each');
    if (s.if !== undefined) badges.push('if');
    if (s.retry !== undefined) badges.push('retry');
    if (s.timeout) badges.push(`timeout ${s.timeout}`);
    if (s.cache === false) badges.push('no cache');
    if (s.queue) badges.push(`queue ${s.queue}`);
    return { id: s.id, uses: s.uses, deps: dependencies(s, ids), badges, error: errs[0]?.message };
  });

  const edit = (f: (t: string) => string) => setText((t) => { try { return f(t ?? ''); } catch { return t; } });
  const addActivity = (kind: string) => {
    const id = newStepId(model, kind);
    const last = selected ?? model.steps[model.steps.length - 1]?.id;
    edit((t) => addStep(t, { id, uses: kind, needs: last ? [last] : [] }));
    setSelected(id);
    setPanel('step');
  };

  if (loadError) return <ErrorNote error={loadError} />;
  if (text === null) return <p aria-busy="true">Loading {name}…</p>;

  const step = model.steps.find((s) => s.id === selected);
  const dirty = loaded ? text !== loaded.yaml : text !== EMPTY;

  const save = async () => {
    setSaveState({});
    try {
      if (name) {
        const r = await api<{ version: number }>(`/workflows/${encodeURIComponent(name)}`, 'PUT', { yaml: text, comment: comment || undefined });
        setLoaded({ yaml: text, version: r?.version });
        setSaveState({ message: `Saved as version ${r?.version ?? ''}` });
      } else {
        const r = await api<{ version?: number }>('/workflows', 'POST', { name: model.name, yaml: text });
        setSaveState({ message: `Created version ${r?.version ?? 1}` });
        navigate(`/workflows/${encodeURIComponent(model.name)}`);
      }
      setComment('');
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) {
        const errs = (e.problem as unknown as { errors?: ValidationError[] }).errors;
        if (Array.isArray(errs)) setServerErrors(errs);
      }
      setSaveState({ error: e });
    }
  };

  return (
    <div className="designer">
      <div className="toolbar">
        <h1>{name ?? 'New workflow'}{loaded?.version ? <span className="muted"> · version {loaded.version}</span> : null}</h1>
        <span className={`status ${allErrors.length ? 'bad' : 'good'}`} data-testid="validity" role="status">
          {allErrors.length ? `${allErrors.length} error${allErrors.length > 1 ? 's' : ''}` : 'valid'}
        </span>
        <label className="inline" htmlFor="save-comment">Comment</label>
        <input id="save-comment" value={comment} onChange={(e) => setComment(e.target.value)} placeholder="what changed" disabled={!canWrite} />
        <ActionButton action="write" className="primary" onClick={save} data-testid="save">Save</ActionButton>
        {name && <button onClick={() => setPanel('history')}>History</button>}
        {name && <button onClick={() => setPanel('run')} data-testid="open-run">Run…</button>}
        {saveState.message && <span role="status" className="good">{saveState.message}</span>}
      </div>
      {saveState.error ? <ErrorNote error={saveState.error} /> : null}
      <div className="designer-grid">
        <aside className="palette" aria-label="Activities">
          <h2>Activities</h2>
          <p className="help">Click or drag onto the canvas to add a step after the selected one.</p>
          <ul>
            {activities.map((a) => (
              <li key={a.kind}>
                <button draggable disabled={!canWrite && !!name} title={a.description} data-testid={`palette-${a.kind}`}
                  onDragStart={(e) => e.dataTransfer.setData('application/x-activity', a.kind)}
                  onClick={() => addActivity(a.kind)} aria-label={`Add ${a.kind} step`}>
                  {a.kind}
                </button>
              </li>
            ))}
          </ul>
        </aside>
        <section className="canvas" aria-label="Graph and step settings">
          <StepGraph steps={graphSteps} layoutKey={name ?? model.name ?? 'new'} selected={selected} editable label="Workflow graph"
            onSelect={(id) => { setSelected(id); if (id) { setPanel('step'); setReveal(model.steps.find((s) => s.id === id)?.lines[0]); } else setPanel('workflow'); }}
            onConnect={(from, to) => { const s = model.steps.find((x) => x.id === to); if (s && !s.needs.includes(from)) edit((t) => setNeeds(t, to, [...s.needs, from])); }}
            onDeleteEdge={(from, to) => { const s = model.steps.find((x) => x.id === to); if (s?.needs.includes(from)) edit((t) => setNeeds(t, to, s.needs.filter((n) => n !== from))); }}
            onDeleteNode={(id) => { edit((t) => removeStep(t, id)); setSelected(undefined); }}
            onDropActivity={addActivity} />
          <div className="inspector">
            <div role="tablist" aria-label="Settings" className="tabs">
              {(['workflow', 'step', 'history', 'run'] as const).filter((p) => (p !== 'history' && p !== 'run') || name).map((p) => (
                <button key={p} role="tab" aria-selected={panel === p} onClick={() => setPanel(p)} disabled={p === 'step' && !step}>
                  {p === 'step' ? (step ? `Step ${step.id}` : 'Step') : p[0].toUpperCase() + p.slice(1)}
                </button>
              ))}
            </div>
            <div role="tabpanel">
              {panel === 'step' && step && <StepForm step={step} model={model} activities={activities} edit={edit} onRemove={() => { edit((t) => removeStep(t, step.id)); setSelected(undefined); setPanel('workflow'); }} />}
              {panel === 'workflow' && <WorkflowForm model={model} edit={edit} />}
              {panel === 'history' && name && <History name={name} current={loaded?.version} />}
              {panel === 'run' && name && <RunForm name={name} model={model} dirty={dirty} />}
              {allErrors.length > 0 && (
                <div className="errors" aria-label="Validation errors">
                  <h3>Validation</h3>
                  <ul>{allErrors.map((e, i) => <li key={i}><button className="link" onClick={() => setReveal(e.line)}>{`${name ?? model.name}.yaml:${e.line}:${e.column}`}</button>: {e.message}</li>)}</ul>
                </div>
              )}
            </div>
          </div>
        </section>
        <section className="yaml" aria-label="YAML">
          <Suspense fallback={<p aria-busy="true">Loading editor…</p>}>
            <Monaco value={text} onChange={setText} markers={markers} revealLine={reveal} readOnly={!canWrite && !!name} />
          </Suspense>
        </section>
      </div>
    </div>
  );
}

function StepForm({ step, model, activities, edit, onRemove }: { step: StepModel; model: WorkflowModel; activities: Activity[]; edit: (f: (t: string) => string) => void; onRemove: () => void }) {
  const act = activities.find((a) => a.kind === kindOf(step.uses));
  const set = (field: (string | number)[], v: unknown) => edit((t) => setStepField(t, step.id, field, v));
  const fe = step.forEach as { items?: string; max_parallel?: number } | string | undefined;
  const feItems = typeof fe === 'string' ? fe : fe?.items;
  const retry = step.retry as number | { max_attempts?: number } | undefined;
  const p = `step-${step.id}`;
  return (
    <div className="step-form" data-testid="step-form">
      <p className="help">{act?.description ?? `Activity ${step.uses}`}</p>
      <fieldset>
        <legend>Runs after (needs)</legend>
        {model.steps.filter((s) => s.id !== step.id).map((s) => (
          <label key={s.id} className="check">
            <input type="checkbox" checked={step.needs.includes(s.id)}
              onChange={(e) => edit((t) => setNeeds(t, step.id, e.target.checked ? [...step.needs, s.id] : step.needs.filter((n) => n !== s.id)))} />
            {s.id}
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Inputs (with)</legend>
        <SchemaForm schema={act?.inputSchema} value={step.with} idPrefix={`${p}-with`} onChange={(k, v) => set(['with', k], v)} />
      </fieldset>
      <fieldset>
        <legend>Execution</legend>
        <Field idPrefix={p} name="for_each items" schema={{ type: 'string', description: 'Fan out: one child per item, e.g. ${{ steps.x.outputs.items }}' }} value={feItems}
          onChange={(v) => set(typeof fe === 'object' ? ['for_each', 'items'] : ['for_each'], v)} />
        <Field idPrefix={p} name="max_parallel" schema={{ type: 'integer', description: '0 means unlimited' }} value={typeof fe === 'object' ? fe.max_parallel : undefined}
          onChange={(v) => set(['for_each'], v === undefined ? feItems : { items: feItems ?? '', max_parallel: v })} />
        <Field idPrefix={p} name="if" schema={{ type: 'string', description: 'Run only when truthy' }} value={step.if as string | undefined} onChange={(v) => set(['if'], v)} />
        <Field idPrefix={p} name="retry max_attempts" schema={{ type: 'integer' }} value={typeof retry === 'object' ? retry.max_attempts : retry}
          onChange={(v) => set(typeof retry === 'object' ? ['retry', 'max_attempts'] : ['retry'], v)} />
        <Field idPrefix={p} name="timeout" schema={{ type: 'string', description: 'e.g. 30s, 10m, 1h' }} value={step.timeout} onChange={(v) => set(['timeout'], v)} />
        <Field idPrefix={p} name="cache" schema={{ type: 'boolean', default: true }} value={step.cache} onChange={(v) => set(['cache'], v)} />
        <Field idPrefix={p} name="queue" schema={{ type: 'string', default: 'default' }} value={step.queue} onChange={(v) => set(['queue'], v)} />
      </fieldset>
      <button className="danger" onClick={onRemove}>Remove step {step.id}</button>
    </div>
  );
}

function WorkflowForm({ model, edit }: { model: WorkflowModel; edit: (f: (t: string) => string) => void }) {
  const [newParam, setNewParam] = useState('');
  return (
    <div className="workflow-form">
      <Field idPrefix="wf" name="name" schema={{ type: 'string' }} value={model.name} onChange={(v) => edit((t) => setIn(t, ['name'], v ?? ''))} />
      <Field idPrefix="wf" name="description" schema={{ type: 'string' }} value={model.description} onChange={(v) => edit((t) => setIn(t, ['description'], v ?? ''))} />
      <fieldset>
        <legend>Parameters</legend>
        {Object.entries(model.parameters).map(([k, prm]) => (
          <div key={k} className="param-row">
            <strong>{k}</strong>
            <Field idPrefix={`param-${k}`} name="type" schema={{ enum: ['string', 'integer', 'number', 'boolean', 'array', 'object'] }} value={prm?.type} onChange={(v) => edit((t) => setIn(t, ['parameters', k, 'type'], v))} />
            <Field idPrefix={`param-${k}`} name="default" schema={{ type: prm?.type === 'integer' || prm?.type === 'number' ? prm.type : 'string' }} value={prm?.default} onChange={(v) => edit((t) => setIn(t, ['parameters', k, 'default'], v))} />
            <button className="link" onClick={() => edit((t) => setIn(t, ['parameters', k], undefined))} aria-label={`Remove parameter ${k}`}>remove</button>
          </div>
        ))}
        <div className="row">
          <label htmlFor="new-param" className="inline">New parameter</label>
          <input id="new-param" value={newParam} onChange={(e) => setNewParam(e.target.value)} />
          <button disabled={!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(newParam)} onClick={() => { edit((t) => setIn(t, ['parameters', newParam], { type: 'string' })); setNewParam(''); }}>Add</button>
        </div>
      </fieldset>
      <fieldset>
        <legend>Schedule</legend>
        <Field idPrefix="sched" name="cron" schema={{ type: 'string', description: 'Five fields: minute hour day month weekday; empty for none' }} value={model.schedule?.cron}
          onChange={(v) => edit((t) => v === undefined ? setIn(t, ['schedule'], undefined) : setIn(t, ['schedule', 'cron'], v))} />
        {model.schedule && <>
          <Field idPrefix="sched" name="timezone" schema={{ type: 'string', default: 'UTC' }} value={model.schedule.timezone} onChange={(v) => edit((t) => setIn(t, ['schedule', 'timezone'], v))} />
          <Field idPrefix="sched" name="catch_up" schema={{ enum: ['skip', 'latest', 'all'] }} value={model.schedule.catch_up} onChange={(v) => edit((t) => setIn(t, ['schedule', 'catch_up'], v))} />
          <Field idPrefix="sched" name="max_concurrent_runs" schema={{ type: 'integer' }} value={model.schedule.max_concurrent_runs} onChange={(v) => edit((t) => setIn(t, ['schedule', 'max_concurrent_runs'], v))} />
        </>}
      </fieldset>
    </div>
  );
}

function History({ name, current }: { name: string; current?: number }) {
  const [versions, setVersions] = useState<Version[]>([]);
  const [from, setFrom] = useState<number>();
  const [to, setTo] = useState<number>();
  const [diff, setDiff] = useState<string>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    api<Page<Version>>(`/workflows/${encodeURIComponent(name)}/versions`).then((v) => {
      const list = items(v).sort((a, b) => b.version - a.version);
      setVersions(list);
      if (list.length > 1) { setTo(list[0].version); setFrom(list[1].version); }
    }).catch(setError);
  }, [name, current]);
  useEffect(() => {
    if (from === undefined || to === undefined) return;
    api<{ unifiedDiff: string }>(`/workflows/${encodeURIComponent(name)}/diff?from=${from}&to=${to}`).then((d) => setDiff(d.unifiedDiff)).catch(setError);
  }, [name, from, to]);
  return (
    <div data-testid="history">
      <ErrorNote error={error} />
      <table>
        <caption>Versions</caption>
        <thead><tr><th>Version</th><th>Saved</th><th>By</th><th>Comment</th></tr></thead>
        <tbody>{versions.map((v) => <tr key={v.version}><td>{v.version}</td><td>{fmtTime(v.createdAt)}</td><td>{v.createdBy}</td><td>{v.comment}</td></tr>)}</tbody>
      </table>
      {versions.length > 1 && (
        <div className="row">
          <label htmlFor="diff-from" className="inline">Diff from</label>
          <select id="diff-from" value={from} onChange={(e) => setFrom(Number(e.target.value))}>{versions.map((v) => <option key={v.version} value={v.version}>{v.version}</option>)}</select>
          <label htmlFor="diff-to" className="inline">to</label>
          <select id="diff-to" value={to} onChange={(e) => setTo(Number(e.target.value))}>{versions.map((v) => <option key={v.version} value={v.version}>{v.version}</option>)}</select>
        </div>
      )}
      {diff !== undefined && (
        <pre className="diff" aria-label="Differences">{diff.split('\n').map((l, i) => <div key={i} className={l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : l.startsWith('@@') ? 'hunk' : ''}>{l || ' '}</div>)}</pre>
      )}
    </div>
  );
}

function RunForm({ name, model, dirty }: { name: string; model: WorkflowModel; dirty: boolean }) {
  const [values, setValues] = useState<Record<string, unknown>>({});
  const [error, setError] = useState<unknown>();
  const first = useRef<HTMLDivElement>(null);
  return (
    <form className="run-form" data-testid="run-form" onSubmit={(e) => e.preventDefault()}>
      {dirty && <p className="warn">Unsaved changes: the run uses the last saved version.</p>}
      <div ref={first}>
        {Object.entries(model.parameters).map(([k, p]) => (
          <Field key={k} idPrefix="run" name={k} schema={{ type: p?.type, enum: p?.enum, description: p?.description, default: p?.default }} value={values[k]}
            onChange={(v) => setValues((x) => ({ ...x, [k]: v }))} />
        ))}
        {Object.keys(model.parameters).length === 0 && <p className="help">This workflow has no parameters.</p>}
      </div>
      <ErrorNote error={error} />
      <ActionButton action="run" className="primary" data-testid="start-run" onClick={async () => {
        setError(undefined);
        const params = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined));
        try {
          const r = await api<{ id: string }>('/runs', 'POST', { workflow: name, params });
          navigate(`/runs/${r.id}`);
        } catch (e) { setError(e); }
      }}>Start run</ActionButton>
      <p className="help"><Link to={`/runs?workflow=${encodeURIComponent(name)}`}>Earlier runs of {name}</Link></p>
    </form>
  );
}
