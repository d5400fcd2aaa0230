// Layered layout of a step graph with elkjs; positions a person moved are kept per workflow in localStorage, so
// moving a node never touches the workflow's YAML.
import type { ELK as Elk } from 'elkjs/lib/elk-api';

// elkjs is large (about 1.5 MB): loaded on the first layout, not with the first page.
let elk: Promise<Elk> | undefined;
function getElk() {
  elk ??= import('elkjs/lib/elk.bundled.js').then((m) => new m.default());
  return elk;
}

export interface XY { x: number; y: number }

export async function layout(nodes: { id: string; width: number; height: number }[], edges: { from: string; to: string }[]): Promise<Record<string, XY>> {
  const ids = new Set(nodes.map((n) => n.id));
  const graph = await (await getElk()).layout({
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.spacing.nodeNode': '30',
      'elk.layered.spacing.nodeNodeBetweenLayers': '50',
    },
    children: nodes.map((n) => ({ id: n.id, width: n.width, height: n.height })),
    edges: edges.filter((e) => ids.has(e.from) && ids.has(e.to)).map((e, i) => ({ id: `e${i}`, sources: [e.from], targets: [e.to] })),
  });
  const out: Record<string, XY> = {};
  for (const c of graph.children ?? []) out[c.id] = { x: c.x ?? 0, y: c.y ?? 0 };
  return out;
}

const key = (workflow: string) => `pipelines.layout.${workflow}`;

export function savedPositions(workflow: string): Record<string, XY> {
  try { return JSON.parse(localStorage.getItem(key(workflow)) ?? '{}'); } catch { return {}; }
}

export function savePosition(workflow: string, id: string, xy: XY) {
  const all = savedPositions(workflow);
  all[id] = { x: Math.round(xy.x), y: Math.round(xy.y) };
  localStorage.setItem(key(workflow), JSON.stringify(all));
}
