// A form generated from an activity's input JSON Schema. Scalars edit live (one YAML line each); lists and objects
// are written as YAML and applied when the field loses focus.
import { useEffect, useState } from 'react';
import { parse, stringify } from 'yaml';

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  description?: string;
  default?: unknown;
  items?: JsonSchema;
}

function flow(v: unknown) {
  if (v === undefined) return '';
  return stringify(v, { collectionStyle: 'flow', lineWidth: 0 }).replace(/\n$/, '');
}

function typeOf(s: JsonSchema): string {
  const t = Array.isArray(s.type) ? s.type.find((x) => x !== 'null') : s.type;
  if (s.enum) return 'enum';
  return t ?? 'any';
}

function coerce(text: string, type: string): unknown {
  if (text === '') return undefined;
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?(e-?\d+)?$/i.test(text.trim())) return Number(text);
  return text;
}

function YamlField(props: { id: string; value: unknown; onCommit: (v: unknown) => void; describedBy?: string }) {
  const [text, setText] = useState(flow(props.value));
  const [err, setErr] = useState('');
  useEffect(() => setText(flow(props.value)), [props.value]);
  return (
    <>
      <textarea id={props.id} rows={Math.min(6, Math.max(1, text.split('\n').length))} value={text} aria-describedby={props.describedBy}
        aria-invalid={!!err || undefined}
        onChange={(e) => setText(e.target.value)}
        onBlur={() => {
          if (text === flow(props.value)) return;
          try { props.onCommit(text.trim() === '' ? undefined : parse(text)); setErr(''); } catch (e) { setErr((e as Error).message.split('\n')[0]); }
        }} />
      {err && <span className="field-error" role="alert">{err}</span>}
    </>
  );
}

export function Field(props: { name: string; schema: JsonSchema; value: unknown; required?: boolean; onChange: (v: unknown) => void; idPrefix: string }) {
  const { name, schema, value } = props;
  const id = `${props.idPrefix}-${name}`;
  const type = typeOf(schema);
  const descId = schema.description ? `${id}-desc` : undefined;
  let input: React.ReactNode;
  if (type === 'boolean' && (value === undefined || typeof value === 'boolean')) {
    input = (
      <select id={id} value={value === undefined ? '' : String(value)} aria-describedby={descId} onChange={(e) => props.onChange(e.target.value === '' ? undefined : e.target.value === 'true')}>
        <option value="">(default{schema.default !== undefined ? `: ${String(schema.default)}` : ''})</option>
        <option value="true">true</option>
        <option value="false">false</option>
      </select>
    );
  } else if (type === 'enum' && (value === undefined || schema.enum!.includes(value))) {
    input = (
      <select id={id} value={value === undefined ? '' : String(value)} aria-describedby={descId} onChange={(e) => props.onChange(e.target.value === '' ? undefined : schema.enum!.find((x) => String(x) === e.target.value))}>
        <option value="">(unset)</option>
        {schema.enum!.map((x) => <option key={String(x)} value={String(x)}>{String(x)}</option>)}
      </select>
    );
  } else if (['string', 'integer', 'number', 'any', 'boolean', 'enum'].includes(type) && (value === undefined || value === null || typeof value !== 'object')) {
    input = (
      <input id={id} type="text" value={value === undefined || value === null ? '' : String(value)} aria-describedby={descId}
        placeholder={schema.default !== undefined ? String(schema.default) : type === 'string' ? '' : type}
        onChange={(e) => props.onChange(coerce(e.target.value, type))} />
    );
  } else {
    input = <YamlField id={id} value={value} onCommit={props.onChange} describedBy={descId} />;
  }
  return (
    <div className="field">
      <label htmlFor={id}>{name}{props.required && <span aria-label="required"> *</span>} <span className="type">{type}</span></label>
      {input}
      {schema.description && <span id={descId} className="help">{schema.description}</span>}
    </div>
  );
}

export function SchemaForm(props: { schema?: JsonSchema; value: Record<string, unknown>; onChange: (key: string, v: unknown) => void; idPrefix: string }) {
  const props_ = props.schema?.properties ?? {};
  const extra = Object.keys(props.value).filter((k) => !(k in props_));
  return (
    <div className="schema-form">
      {Object.entries(props_).map(([k, s]) => (
        <Field key={k} name={k} schema={s} value={props.value[k]} required={props.schema?.required?.includes(k)} onChange={(v) => props.onChange(k, v)} idPrefix={props.idPrefix} />
      ))}
      {extra.map((k) => <Field key={k} name={k} schema={{}} value={props.value[k]} onChange={(v) => props.onChange(k, v)} idPrefix={props.idPrefix} />)}
    </div>
  );
}
