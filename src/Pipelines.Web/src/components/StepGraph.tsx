// The step DAG shown by the designer (editable) and the run view (live states).
import { Background, Controls, Handle, Position, ReactFlow, type Connection, type Edge, type Node, type NodeProps, type NodeChange, applyNodeChanges, MarkerType } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import { useEffect, useMemo, useState } from 'react';
import { layout, savedPositions, savePosition, type XY } from './layout';

export interface GraphStep {
  id: string;
  uses: string;
  deps: { id: string; explicit: boolean }[];
  state?: string;
  badges?: string[];
  progress?: { total: number; done: number; failed: number };
  error?: string;
  detail?: string;
}

type StepData = GraphStep & Record<string, unknown>;

function StepNode({ data }: NodeProps<Node<StepData>>) {
  const pct = data.progress && data.progress.total ? Math.round((100 * data.progress.done) / data.progress.total) : 0;
  return (
    <div className={`node ${data.state ? `node-${data.state}` : ''} ${data.error ? 'node-error' : ''}`} data-testid={`node-${data.id}`} data-state={data.state}>
      <Handle type="target" position={Position.Top} />
      <div className="node-title">{data.id}</div>
      <div className="node-uses">{data.uses}</div>
      {data.state && <div className="node-state">{data.state}{data.detail ? ` · ${data.detail}` : ''}</div>}
      {data.badges && data.badges.length > 0 && <div className="node-badges">{data.badges.map((b) => <span key={b} className="chip">{b}</span>)}</div>}
      {data.progress && (
        <div className="progress" role="progressbar" aria-label={`${data.id} items`} aria-valuemin={0} aria-valuemax={data.progress.total} aria-valuenow={data.progress.done}>
          <div style={{ width: `${pct}%` }} className={data.progress.failed ? 'bar-failed' : ''} />
          <span>{data.progress.done}/{data.progress.total}{data.progress.failed ? ` · ${data.progress.failed} failed` : ''}</span>
        </div>
      )}
      {data.error && <div className="node-err" title={data.error}>⚠ {data.error}</div>}
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
}

const nodeTypes = { step: StepNode };
const W = 200, H = 86;

export function StepGraph(props: {
  steps: GraphStep[];
  layoutKey: string;
  selected?: string;
  onSelect?: (id: string | undefined) => void;
  onConnect?: (from: string, to: string) => void;
  onDeleteEdge?: (from: string, to: string) => void;
  onDeleteNode?: (id: string) => void;
  onDropActivity?: (kind: string) => void;
  editable?: boolean;
  label: string;
}) {
  const { steps, layoutKey } = props;
  const shape = steps.map((s) => `${s.id}<${s.deps.map((d) => d.id).join(',')}`).join('|');
  const [auto, setAuto] = useState<Record<string, XY>>({});
  const [moved, setMoved] = useState<Record<string, XY>>(() => savedPositions(layoutKey));
  useEffect(() => {
    let alive = true;
    layout(steps.map((s) => ({ id: s.id, width: W, height: H })), steps.flatMap((s) => s.deps.map((d) => ({ from: d.id, to: s.id }))))
      .then((p) => alive && setAuto(p)).catch(() => {});
    return () => { alive = false; };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape]);

  const baseNodes = useMemo<Node<StepData>[]>(() => steps.map((s, i) => ({
    id: s.id,
    type: 'step',
    position: moved[s.id] ?? auto[s.id] ?? { x: 0, y: i * (H + 40) },
    data: s as StepData,
    selected: props.selected === s.id,
    ariaLabel: `Step ${s.id}, ${s.uses}${s.state ? `, ${s.state}` : ''}${s.error ? `, error: ${s.error}` : ''}`,
    deletable: !!props.editable,
  })), [steps, auto, moved, props.selected, props.editable]);
  const [nodes, setNodes] = useState(baseNodes);
  useEffect(() => setNodes(baseNodes), [baseNodes]);

  const edges = useMemo<Edge[]>(() => steps.flatMap((s) => s.deps.map((d) => ({
    id: `${d.id}->${s.id}`,
    source: d.id,
    target: s.id,
    animated: s.state === 'running',
    deletable: !!props.editable && d.explicit,
    style: d.explicit ? undefined : { strokeDasharray: '4 3' },
    markerEnd: { type: MarkerType.ArrowClosed },
    ariaLabel: `${d.id} before ${s.id}${d.explicit ? '' : ' (read by an expression)'}`,
  }))), [steps, props.editable]);

  return (
    <div className="graph" aria-label={props.label} role="group"
      onDragOver={(e) => { if (props.onDropActivity) e.preventDefault(); }}
      onDrop={(e) => { const kind = e.dataTransfer.getData('application/x-activity'); if (kind) props.onDropActivity?.(kind); }}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        fitView
        minZoom={0.2}
        nodesConnectable={!!props.editable}
        onNodesChange={(changes: NodeChange<Node<StepData>>[]) => {
          setNodes((ns) => applyNodeChanges(changes.filter((c) => c.type !== 'remove'), ns));
          for (const c of changes) {
            if (c.type === 'position' && c.position && !c.dragging) {
              savePosition(layoutKey, c.id, c.position);
              setMoved((m) => ({ ...m, [c.id]: c.position! }));
            }
            if (c.type === 'remove') props.onDeleteNode?.(c.id);
          }
        }}
        onNodeDragStop={(_, n) => { savePosition(layoutKey, n.id, n.position); setMoved((m) => ({ ...m, [n.id]: n.position })); }}
        onEdgesChange={(changes) => { for (const c of changes) if (c.type === 'remove') { const [a, b] = c.id.split('->'); props.onDeleteEdge?.(a, b); } }}
        onConnect={(c: Connection) => { if (c.source && c.target && c.source !== c.target) props.onConnect?.(c.source, c.target); }}
        onNodeClick={(_, n) => props.onSelect?.(n.id)}
        // Keyboard users select a focused node with Enter or Space; that arrives as a selection change.
        onSelectionChange={({ nodes: sel }) => { if (sel.length === 1 && sel[0].id !== props.selected) props.onSelect?.(sel[0].id); }}
        onPaneClick={() => props.onSelect?.(undefined)}
        deleteKeyCode={props.editable ? ['Delete', 'Backspace'] : null}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
