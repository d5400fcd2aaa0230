import { useEffect, useRef, useState } from 'react';
import { ApiError } from '../api';
import { whyNot, type Action, useCan } from '../session';

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as ApiError;
  const fields = e.problem?.errors ? Object.entries(e.problem.errors).map(([f, m]) => `${f}: ${m.join('; ')}`) : [];
  return (
    <div role="alert" className="error">
      {e.problem?.title && e.problem.detail ? <strong>{e.problem.title}: </strong> : null}
      {e.message}
      {fields.length > 0 && <ul>{fields.map((f) => <li key={f}>{f}</li>)}</ul>}
    </div>
  );
}

/** A button for an action the role may not take is disabled and says why (the server refuses it anyway). */
export function ActionButton(props: { action: Action; onClick: () => void | Promise<void>; children: React.ReactNode; className?: string; disabled?: boolean; 'data-testid'?: string; title?: string }) {
  const allowed = useCan(props.action);
  const [busy, setBusy] = useState(false);
  return (
    <button className={props.className} data-testid={props['data-testid']} disabled={!allowed || busy || props.disabled}
      title={allowed ? props.title : whyNot(props.action)} aria-disabled={!allowed || undefined}
      onClick={async () => { setBusy(true); try { await props.onClick(); } finally { setBusy(false); } }}>
      {props.children}
    </button>
  );
}

/** A modal confirmation (promote, rollback): focus moves in, Escape cancels. */
export function Confirm(props: { title: string; children: React.ReactNode; confirm: string; onConfirm: () => void; onCancel: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => { ref.current?.showModal(); }, []);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby="confirm-title" onCancel={(e) => { e.preventDefault(); props.onCancel(); }}>
      <h2 id="confirm-title">{props.title}</h2>
      <div>{props.children}</div>
      <div className="row">
        <button className="primary" onClick={props.onConfirm} autoFocus>{props.confirm}</button>
        <button onClick={props.onCancel}>Cancel</button>
      </div>
    </dialog>
  );
}

export function StateBadge({ state }: { state: string }) {
  return <span className={`state state-${state}`}>{state}</span>;
}

export function usePoll<T>(load: () => Promise<T>, deps: unknown[], everyMs = 0): [T | undefined, unknown, () => void] {
  const [value, setValue] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let alive = true;
    const go = () => load().then((v) => { if (alive) { setValue(v); setError(undefined); } }).catch((e) => alive && setError(e));
    go();
    const t = everyMs ? setInterval(go, everyMs) : undefined;
    return () => { alive = false; if (t) clearInterval(t); };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return [value, error, () => setTick((t) => t + 1)];
}
