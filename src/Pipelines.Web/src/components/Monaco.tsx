// Monaco, bundled (no CDN), editing the workflow YAML with completion and hovers from the workflow JSON Schema, and
// the server's validation errors as markers. Outside edits (from the graph or forms) are applied as the smallest
// text change, so the cursor and undo history survive.
import { useEffect, useRef } from 'react';
import * as monaco from '../monacoEntry';
import EditorWorker from 'monaco-editor/esm/vs/editor/editor.worker.js?worker';

(self as unknown as { MonacoEnvironment: unknown }).MonacoEnvironment = { getWorker: () => new EditorWorker() };

export interface Marker { line: number; column: number; message: string }

type Schema = { properties?: Record<string, { description?: string; $ref?: string }>; $defs?: Record<string, { properties?: Record<string, { description?: string }> }> };

let completionFor: { schema?: Schema; kinds: { kind: string; description?: string }[] } = { kinds: [] };
let registered = false;

function registerCompletion() {
  if (registered) return;
  registered = true;
  monaco.languages.registerCompletionItemProvider('yaml', {
    triggerCharacters: [' ', ':'],
    provideCompletionItems(model, position) {
      const line = model.getLineContent(position.lineNumber);
      const before = line.slice(0, position.column - 1);
      const word = model.getWordUntilPosition(position);
      const range = { startLineNumber: position.lineNumber, endLineNumber: position.lineNumber, startColumn: word.startColumn, endColumn: word.endColumn };
      const s = completionFor.schema;
      if (/^\s*(-\s+)?uses:\s*\S*$/.test(before)) {
        return { suggestions: completionFor.kinds.map((k) => ({ label: k.kind, kind: monaco.languages.CompletionItemKind.Module, insertText: k.kind, documentation: k.description, range })) };
      }
      const indent = before.match(/^(\s*)/)![1].length;
      let props: Record<string, { description?: string }> | undefined;
      if (indent === 0 && /^\w*$/.test(before)) props = s?.properties;
      else if (/^\s*(-\s+)?\w*$/.test(before)) {
        // Inside a step item when a line above at a smaller indent starts the item or a sibling key is a step key.
        for (let l = position.lineNumber - 1; l >= 1; l--) {
          const text = model.getLineContent(l);
          if (!text.trim() || text.trim().startsWith('#')) continue;
          const ind = text.match(/^(\s*)/)![1].length;
          if (/^\s*-\s+id:/.test(text) && ind + 2 <= indent + (before.trim().startsWith('-') ? 2 : 0)) { props = s?.$defs?.step?.properties; break; }
          if (ind === 0) break;
        }
      }
      if (!props) return { suggestions: [] };
      return {
        suggestions: Object.entries(props).map(([k, v]) => ({
          label: k, kind: monaco.languages.CompletionItemKind.Property, insertText: `${k}: `, documentation: v.description, range,
        })),
      };
    },
  });
  monaco.languages.registerHoverProvider('yaml', {
    provideHover(model, position) {
      const word = model.getWordAtPosition(position);
      if (!word) return null;
      const s = completionFor.schema;
      const d = s?.$defs?.step?.properties?.[word.word]?.description ?? s?.properties?.[word.word]?.description
        ?? completionFor.kinds.find((k) => k.kind === word.word || k.kind.startsWith(`${word.word}@`))?.description;
      return d ? { contents: [{ value: `**${word.word}**: ${d}` }] } : null;
    },
  });
}

export function setCompletionSources(schema: unknown, kinds: { kind: string; description?: string }[]) {
  completionFor = { schema: schema as Schema, kinds };
}

export default function MonacoYaml(props: { value: string; onChange: (v: string) => void; markers: Marker[]; revealLine?: number; readOnly?: boolean }) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<monaco.editor.IStandaloneCodeEditor>(null);
  const applying = useRef(false);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;

  useEffect(() => {
    registerCompletion();
    const e = monaco.editor.create(host.current!, {
      value: props.value, language: 'yaml', automaticLayout: true, minimap: { enabled: false }, fontSize: 13,
      tabSize: 2, insertSpaces: true, scrollBeyondLastLine: false, readOnly: props.readOnly, ariaLabel: 'Workflow YAML',
      renderWhitespace: 'none', wordWrap: 'off', accessibilitySupport: 'on',
      // Tab moves focus out of the editor for keyboard users; Ctrl+M toggles that in Monaco.
      tabFocusMode: false,
    });
    editor.current = e;
    const sub = e.onDidChangeModelContent(() => { if (!applying.current) onChange.current(e.getValue()); });
    return () => { sub.dispose(); e.getModel()?.dispose(); e.dispose(); };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const e = editor.current;
    const model = e?.getModel();
    if (!e || !model) return;
    const old = model.getValue();
    const v = props.value;
    if (old === v) return;
    // The smallest range that differs: common prefix and suffix kept.
    let p = 0;
    while (p < old.length && p < v.length && old[p] === v[p]) p++;
    let s = 0;
    while (s < old.length - p && s < v.length - p && old[old.length - 1 - s] === v[v.length - 1 - s]) s++;
    const start = model.getPositionAt(p), end = model.getPositionAt(old.length - s);
    applying.current = true;
    try {
      e.executeEdits('designer', [{ range: new monaco.Range(start.lineNumber, start.column, end.lineNumber, end.column), text: v.slice(p, v.length - s) }]);
    } finally { applying.current = false; }
  }, [props.value]);

  useEffect(() => {
    const model = editor.current?.getModel();
    if (!model) return;
    monaco.editor.setModelMarkers(model, 'server', props.markers.map((m) => ({
      severity: monaco.MarkerSeverity.Error, message: m.message,
      startLineNumber: m.line, startColumn: m.column, endLineNumber: m.line, endColumn: model.getLineMaxColumn(Math.min(m.line, model.getLineCount())),
    })));
  }, [props.markers]);

  useEffect(() => { if (props.revealLine) editor.current?.revealLineInCenter(props.revealLine); }, [props.revealLine]);

  return <div className="monaco" ref={host} data-testid="monaco" />;
}
