// Metric curves (e.g. validation AUC per boosting round, one series per trial) with uPlot.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const palette = ['#1f5fbf', '#b35900', '#217a3c', '#8a2be2', '#b0263b', '#00707a', '#6b5b00', '#444'];

export function LineChart({ title, series }: { title: string; series: { label: string; points: { x: number; y: number }[] }[] }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!ref.current || series.length === 0) return;
    const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
    const data: uPlot.AlignedData = [xs, ...series.map((s) => {
      const m = new Map(s.points.map((p) => [p.x, p.y]));
      return xs.map((x) => m.get(x) ?? null);
    })] as uPlot.AlignedData;
    const plot = new uPlot({
      title, width: Math.min(720, ref.current.clientWidth || 600), height: 260,
      scales: { x: { time: false } },
      series: [{ label: 'step' }, ...series.map((s, i) => ({ label: s.label, stroke: palette[i % palette.length], width: 1.5, spanGaps: true }))],
    }, data, ref.current);
    return () => plot.destroy();
  }, [title, series]);
  return <figure className="chart" ref={ref} aria-label={title} />;
}
