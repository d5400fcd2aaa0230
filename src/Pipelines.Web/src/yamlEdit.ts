// Edits a workflow's YAML text through the `yaml` package's Document API while keeping everything the edit does not
// touch byte for byte: comments, key order, quoting, blank lines and flow/block style. The text stays the source of
// truth; an edit finds the node to change with the Document API and splices only that node's characters, so editing
// one input changes only its line. Where a splice cannot express the edit (a key added to a flow map, say), the
// Document itself is edited and re-serialised, which keeps comments and order but may reformat some lines.
import { Document, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, stringify, YAMLMap, YAMLSeq } from 'yaml';
import type { Node as YNode } from 'yaml';

export type Path = (string | number)[];

export interface StepModel {
  id: string;
  uses: string;
  needs: string[];
  forEach?: unknown;
  if?: unknown;
  retry?: unknown;
  timeout?: string;
  cache?: boolean;
  queue?: string;
  with: Record<string, unknown>;
  /** 1-based first and last line of the step item in the text. */
  lines: [number, number];
  index: number;
}

export interface WorkflowModel {
  name: string;
  description?: string;
  parameters: Record<string, { type?: string; default?: unknown; description?: string; enum?: unknown[]; minimum?: number; maximum?: number }>;
  schedule?: { cron?: string; timezone?: string; catch_up?: string; max_concurrent_runs?: number };
  steps: StepModel[];
  parseErrors: { line: number; column: number; message: string }[];
}

function parse(text: string) {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, keepSourceTokens: false, uniqueKeys: false });
  return { doc, lineCounter };
}

function asList(v: unknown): string[] {
  if (v == null) return [];
  if (Array.isArray(v)) return v.map(String);
  return [String(v)];
}

/** Reads the designer's model of a workflow (steps with their 1-based line span) from YAML text. */
export function readWorkflow(text: string): WorkflowModel {
  const { doc, lineCounter } = parse(text);
  const parseErrors = doc.errors.map((e) => {
    const p = e.linePos?.[0];
    return { line: p?.line ?? 1, column: p?.col ?? 1, message: e.message.split('\n')[0] };
  });
  const js = (doc.toJS({ maxAliasCount: 100 }) ?? {}) as Record<string, unknown>;
  const stepsNode = doc.get('steps', true);
  const steps: StepModel[] = [];
  if (isSeq(stepsNode)) {
    stepsNode.items.forEach((item, index) => {
      if (!isMap(item)) return;
      const s = (item.toJSON() ?? {}) as Record<string, unknown>;
      const r = (item as YNode).range ?? [0, 0, 0];
      const first = lineCounter.linePos(r[0]).line;
      const last = lineCounter.linePos(Math.max(r[0], r[1] - 1)).line;
      steps.push({
        id: String(s.id ?? `step${index + 1}`),
        uses: String(s.uses ?? ''),
        needs: asList(s.needs),
        forEach: s.for_each,
        if: s.if,
        retry: s.retry,
        timeout: s.timeout as string | undefined,
        cache: s.cache as boolean | undefined,
        queue: s.queue as string | undefined,
        with: (s.with as Record<string, unknown>) ?? {},
        lines: [first, last],
        index,
      });
    });
  }
  return {
    name: String(js.name ?? ''),
    description: js.description as string | undefined,
    parameters: (js.parameters as WorkflowModel['parameters']) ?? {},
    schedule: js.schedule as WorkflowModel['schedule'],
    steps,
    parseErrors,
  };
}

/** Dependencies read from expressions (`steps.X.`) plus `needs`, as the engine computes them. */
export function dependencies(step: StepModel, ids: Set<string>): { id: string; explicit: boolean }[] {
  const out = new Map<string, boolean>();
  for (const n of step.needs) if (ids.has(n)) out.set(n, true);
  const scan = JSON.stringify([step.with, step.forEach, step.if]);
  for (const m of scan.matchAll(/steps\.([A-Za-z_][A-Za-z0-9_-]*)\./g)) {
    if (ids.has(m[1]) && m[1] !== step.id && !out.has(m[1])) out.set(m[1], false);
  }
  return [...out].map(([id, explicit]) => ({ id, explicit }));
}

function stepPath(doc: Document, stepId: string): number {
  const seq = doc.get('steps', true);
  if (!isSeq(seq)) return -1;
  return seq.items.findIndex((it) => isMap(it) && String((it as YAMLMap).get('id')) === stepId);
}

/** A scalar written in the style of the one it replaces (double or single quotes stay), on one line. */
function scalarText(value: unknown, old?: Scalar): string {
  if (typeof value === 'string') {
    if (old?.type === Scalar.QUOTE_DOUBLE) return JSON.stringify(value);
    if (old?.type === Scalar.QUOTE_SINGLE) return `'${value.replace(/'/g, "''")}'`;
  }
  return stringify(value, { lineWidth: 0 }).replace(/\n$/, '').replace(/^\|-?\n/, '');
}

function isPlainScalar(v: unknown) {
  return v === null || ['string', 'number', 'boolean'].includes(typeof v);
}

/** Block YAML for a collection value placed at the given column (first line unindented: it replaces in place). */
function blockText(value: unknown, column: number): string {
  const body = stringify(value, { lineWidth: 0, flowCollectionPadding: true }).replace(/\n$/, '');
  const pad = ' '.repeat(column);
  return body.split('\n').map((l, i) => (i === 0 ? l : pad + l)).join('\n');
}

function lineStart(text: string, offset: number) {
  const i = text.lastIndexOf('\n', offset - 1);
  return i + 1;
}

function columnOf(text: string, offset: number) {
  return offset - lineStart(text, offset);
}

function sameValue(text: string, path: Path, value: unknown): boolean {
  const { doc } = parse(text);
  if (doc.errors.length) return false;
  const got = doc.getIn(path, false);
  const norm = (v: unknown) => JSON.stringify(v instanceof Object && 'toJSON' in (v as object) ? (v as { toJSON(): unknown }).toJSON() : v);
  if (value === undefined) return !doc.hasIn(path);
  return norm(got) === JSON.stringify(value);
}

/** Sets (or with `undefined` removes) the value at `path` of the YAML document, changing as little text as it can. */
export function setIn(text: string, path: Path, value: unknown): string {
  const spliced = trySplice(text, path, value);
  if (spliced !== null && sameValue(spliced, path, value)) return spliced;
  // Fallback: edit the Document (comments and order kept), re-serialised.
  const { doc } = parse(text);
  if (value === undefined) doc.deleteIn(path);
  else doc.setIn(path, doc.createNode(value, { flow: false }));
  return doc.toString({ lineWidth: 0 });
}

function trySplice(text: string, path: Path, value: unknown): string | null {
  const { doc } = parse(text);
  if (doc.errors.length) return null;
  const parentPath = path.slice(0, -1);
  const key = path[path.length - 1];
  const parent = parentPath.length ? doc.getIn(parentPath, true) : doc.contents;
  const node = doc.getIn(path, true) as YNode | undefined;
  if (value === undefined) {
    if (!node || !isMap(parent) || parent.flow) return null;
    const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
    const k = pair?.key as YNode | undefined;
    if (!k?.range || !node.range) return null;
    const start = lineStart(text, k.range[0]);
    let end = node.range[1];
    if (text[end - 1] !== '\n') {
      const nl = text.indexOf('\n', end);
      end = nl < 0 ? text.length : nl + 1;
    }
    return text.slice(0, start) + text.slice(end);
  }
  if (node?.range) {
    const [s, e] = node.range;
    if (isScalar(node) && isPlainScalar(value)) {
      if (node.type === Scalar.BLOCK_FOLDED || node.type === Scalar.BLOCK_LITERAL) return null;
      return text.slice(0, s) + scalarText(value, node) + text.slice(e);
    }
    if ((isMap(node) || isSeq(node)) && (node as YAMLMap | YAMLSeq).flow) {
      const flow = new Document(value);
      (flow.contents as { flow?: boolean }).flow = true;
      // Maps keep the `{ a: 1 }` padding the shipped workflows use; lists read as `[a, b]`.
      const padded = isMap(node);
      return text.slice(0, s) + flow.toString({ lineWidth: 0, flowCollectionPadding: padded }).replace(/\n$/, '') + text.slice(e);
    }
    if (isMap(node) || isSeq(node)) {
      if (isPlainScalar(value)) return null;
      const end = text[e - 1] === '\n' ? e - 1 : e;
      return text.slice(0, s) + blockText(value, columnOf(text, s)) + text.slice(end);
    }
    return null;
  }
  // A new key in an existing block map: one more line (or block) after the map's last pair.
  if (isMap(parent) && !parent.flow && parent.range && parent.items.length) {
    const firstKey = parent.items[0].key as YNode;
    if (!firstKey?.range) return null;
    const col = columnOf(text, firstKey.range[0]);
    let at = parent.range[1];
    let prefix = '';
    if (text[at - 1] !== '\n') prefix = '\n';
    const pad = ' '.repeat(col);
    const entry = stringify({ [key]: value }, { lineWidth: 0 }).replace(/\n$/, '');
    const lines = entry.split('\n').map((l) => pad + l).join('\n');
    return text.slice(0, at) + prefix + lines + '\n' + text.slice(at);
  }
  if (!parent && parentPath.length) {
    // The parent map is missing: create it with this one key.
    return trySplice(text, parentPath, { [key]: value });
  }
  return null;
}

/** Sets a step field (`with.x`, `retry`, `needs`, …) by step id. */
export function setStepField(text: string, stepId: string, field: Path, value: unknown): string {
  const { doc } = parse(text);
  const i = stepPath(doc, stepId);
  if (i < 0) throw new Error(`no step '${stepId}'`);
  return setIn(text, ['steps', i, ...field], value);
}

/** Appends a step at the end of `steps` as a new block item, leaving the rest of the text as it is. */
export function addStep(text: string, step: { id: string; uses: string; needs?: string[]; with?: Record<string, unknown> }): string {
  const obj: Record<string, unknown> = { id: step.id, uses: step.uses };
  // `needs` as a one-line flow list, like the shipped workflows write it.
  if (step.needs?.length) obj.needs = '__NEEDS__';
  if (step.with && Object.keys(step.with).length) obj.with = step.with;
  const { doc } = parse(text);
  const seq = doc.get('steps', true);
  if (isSeq(seq) && !seq.flow && seq.range && seq.items.length) {
    const first = seq.items[0] as YNode;
    const col = columnOf(text, first.range![0]) - 2;
    const body = stringify([obj], { lineWidth: 0, flowCollectionPadding: true }).replace(/\n$/, '');
    const pad = ' '.repeat(Math.max(0, col));
    const block = body.split('\n').map((l) => pad + l).join('\n').replace('__NEEDS__', `[${(step.needs ?? []).join(', ')}]`);
    let at = seq.range[1];
    const prefix = text[at - 1] === '\n' ? '' : '\n';
    return text.slice(0, at) + prefix + block + '\n' + text.slice(at);
  }
  if (isSeq(seq) && seq.items.length === 0 && seq.flow && seq.range) {
    // `steps: []` (an empty canvas) becomes a block list holding the first step.
    const items = stringify([obj], { lineWidth: 0 }).replace(/\n$/, '').replace(/^/gm, '  ').replace('__NEEDS__', `[${(step.needs ?? []).join(', ')}]`);
    return text.slice(0, seq.range[0]).replace(/[ \t]+$/, '') + '\n' + items + text.slice(seq.range[1]);
  }
  if (!doc.has('steps') || (isSeq(seq) && seq.items.length === 0)) {
    if (text.trim() === '' || doc.contents === null) {
      const items = stringify([obj], { lineWidth: 0 }).replace(/\n$/, '').replace(/^/gm, '  ').replace('__NEEDS__', `[${(step.needs ?? []).join(', ')}]`);
      return `${text}${text && !text.endsWith('\n') ? '\n' : ''}steps:\n${items}\n`;
    }
  }
  if (step.needs?.length) obj.needs = step.needs;
  const steps = (doc.get('steps', true) as YAMLSeq | undefined) ?? (doc.createNode([]) as YAMLSeq);
  steps.items.push(doc.createNode(obj));
  doc.set('steps', steps);
  return doc.toString({ lineWidth: 0 });
}

/** Removes a step (its lines) and any `needs` naming it. */
export function removeStep(text: string, stepId: string): string {
  const { doc } = parse(text);
  const seq = doc.get('steps', true);
  const i = stepPath(doc, stepId);
  if (!isSeq(seq) || i < 0) return text;
  const item = seq.items[i] as YNode;
  let out: string;
  if (!seq.flow && item.range) {
    const start = lineStart(text, item.range[0]);
    let end = item.range[1];
    if (text[end - 1] !== '\n') { const nl = text.indexOf('\n', end); end = nl < 0 ? text.length : nl + 1; }
    // A blank line before and after the step would become two in a row: drop the one after.
    if (text.slice(start - 2, start) === '\n\n' && text[end] === '\n') end += 1;
    out = text.slice(0, start) + text.slice(end);
  } else {
    seq.items.splice(i, 1);
    out = doc.toString({ lineWidth: 0 });
  }
  for (const s of readWorkflow(out).steps) {
    if (s.needs.includes(stepId)) out = setNeeds(out, s.id, s.needs.filter((n) => n !== stepId));
  }
  return out;
}

/** Sets a step's `needs` (removed when empty); one id stays a scalar, several become a flow list. */
export function setNeeds(text: string, stepId: string, needs: string[]): string {
  const value = needs.length === 0 ? undefined : needs;
  const { doc } = parse(text);
  const i = stepPath(doc, stepId);
  const old = doc.getIn(['steps', i, 'needs'], true);
  if (value && isSeq(old) === false && isScalar(old) && needs.length === 1) {
    return setStepField(text, stepId, ['needs'], needs[0]);
  }
  if (value && !old) {
    // New needs: a flow list reads best on one line.
    const t = setStepField(text, stepId, ['needs'], '__NEEDS__');
    return t.replace('__NEEDS__', `[${needs.join(', ')}]`);
  }
  return setStepField(text, stepId, ['needs'], value);
}

/** The step whose lines contain a 1-based line, to put a server error on its node. */
export function stepAtLine(model: WorkflowModel, line: number): string | undefined {
  return model.steps.find((s) => line >= s.lines[0] && line <= s.lines[1])?.id;
}

/** A unique new step id from an activity kind. */
export function newStepId(model: WorkflowModel, kind: string): string {
  const base = kind.replace(/@.*$/, '').replace(/[^a-z0-9_]/gi, '_').toLowerCase().replace(/^[^a-z_]/, '_');
  const ids = new Set(model.steps.map((s) => s.id));
  for (let n = 1; ; n++) {
    const id = n === 1 ? base : `${base}_${n}`;
    if (!ids.has(id)) return id;
  }
}
