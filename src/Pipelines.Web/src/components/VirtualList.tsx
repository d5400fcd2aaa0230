// Renders only the rows in view (fixed row height), so a fan-out of thousands of items stays responsive.
import { useState } from 'react';

export function VirtualList<T>(props: { items: T[]; rowHeight: number; height: number; label: string; row: (item: T, index: number) => React.ReactNode }) {
  const [top, setTop] = useState(0);
  const { items, rowHeight, height } = props;
  const first = Math.max(0, Math.floor(top / rowHeight) - 5);
  const last = Math.min(items.length, Math.ceil((top + height) / rowHeight) + 5);
  return (
    <div className="vlist" role="list" aria-label={props.label} tabIndex={0} style={{ height, overflowY: 'auto' }} onScroll={(e) => setTop(e.currentTarget.scrollTop)}
      data-testid="virtual-list" data-rendered={last - first}>
      <div style={{ height: items.length * rowHeight, position: 'relative' }}>
        {items.slice(first, last).map((it, i) => (
          <div role="listitem" key={first + i} className="vrow" style={{ position: 'absolute', top: (first + i) * rowHeight, height: rowHeight, left: 0, right: 0 }}>
            {props.row(it, first + i)}
          </div>
        ))}
      </div>
    </div>
  );
}
