// A minimal history router: the server falls back to index.html for every non-API path.
import { useEffect, useState } from 'react';

export function navigate(to: string) {
  if (to === location.pathname + location.search) return;
  history.pushState(null, '', to);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function usePath() {
  const [path, setPath] = useState(location.pathname + location.search);
  useEffect(() => {
    const on = () => setPath(location.pathname + location.search);
    addEventListener('popstate', on);
    return () => removeEventListener('popstate', on);
  }, []);
  return path;
}

export function Link(props: { to: string; children: React.ReactNode; className?: string; 'aria-current'?: 'page' | undefined }) {
  return (
    <a href={props.to} className={props.className} aria-current={props['aria-current']}
      onClick={(e) => { if (e.button === 0 && !e.metaKey && !e.ctrlKey) { e.preventDefault(); navigate(props.to); } }}>
      {props.children}
    </a>
  );
}
