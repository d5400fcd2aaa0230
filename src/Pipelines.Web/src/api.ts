// The server's /api/v1 (see API-CONTRACT.md) and its event stream; the UI uses nothing else.
export interface Problem { type?: string; title?: string; status: number; detail?: string; errors?: Record<string, string[]> }

export class ApiError extends Error {
  constructor(public readonly status: number, public readonly problem: Problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
  }
}

export interface Session { user: string; roles: string[]; csrfToken: string; mode: 'local' | 'auth' }

// Per page load: the CSRF token of the cookie session, or the OIDC access token when signed in with a bearer.
const auth: { csrf?: string; bearer?: string } = {};
export function setCsrf(token: string | undefined) { auth.csrf = token; }
export function setBearer(token: string | undefined) { auth.bearer = token; }

function headers(method: string, body: boolean): Record<string, string> {
  const h: Record<string, string> = { Accept: 'application/json' };
  if (body) h['Content-Type'] = 'application/json';
  if (auth.bearer) h.Authorization = `Bearer ${auth.bearer}`;
  if (method !== 'GET' && auth.csrf) h['X-CSRF-Token'] = auth.csrf;
  return h;
}

export async function api<T = unknown>(path: string, method = 'GET', body?: unknown): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    method,
    credentials: 'same-origin',
    headers: headers(method, body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    let problem: Problem = { status: res.status, title: res.statusText };
    try { problem = { ...problem, ...(await res.json()) }; } catch { /* not JSON */ }
    throw new ApiError(res.status, problem);
  }
  if (res.status === 204) return undefined as T;
  const type = res.headers.get('content-type') ?? '';
  return (type.includes('json') ? res.json() : res.text()) as Promise<T>;
}

export interface Page<T> { items: T[]; nextCursor?: string | null }

/** All pages of a paged list, up to `max` items. */
export async function all<T>(path: string, max = 5000): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null | undefined;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await api<Page<T> | T[]>(`${path}${sep}limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (Array.isArray(page)) return page;
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && out.length < max);
  return out;
}

export function items<T>(v: Page<T> | T[] | undefined): T[] {
  if (!v) return [];
  return Array.isArray(v) ? v : v.items ?? [];
}

export interface ServerEvent { id?: string; type: string; data: Record<string, unknown> }

/**
 * Follows /api/v1/events with fetch (so a bearer token works too, which EventSource cannot send), reconnecting with
 * Last-Event-ID so no event is lost across a dropped connection.
 */
export function subscribe(query: string, onEvent: (e: ServerEvent) => void, onState?: (connected: boolean) => void): () => void {
  let stopped = false;
  let lastId: string | undefined;
  const controller = new AbortController();
  const run = async () => {
    let delay = 500;
    while (!stopped) {
      try {
        const h = headers('GET', false);
        h.Accept = 'text/event-stream';
        if (lastId) h['Last-Event-ID'] = lastId;
        const res = await fetch(`/api/v1/events${query ? `?${query}` : ''}`, { headers: h, credentials: 'same-origin', signal: controller.signal });
        if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
        onState?.(true);
        delay = 500;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let sep: number;
          while ((sep = buf.search(/\r?\n\r?\n/)) >= 0) {
            const block = buf.slice(0, sep);
            buf = buf.slice(sep).replace(/^\r?\n\r?\n/, '');
            let type = 'message', data = '', id: string | undefined;
            for (const line of block.split(/\r?\n/)) {
              if (line.startsWith(':')) continue;
              const i = line.indexOf(':');
              const field = i < 0 ? line : line.slice(0, i);
              const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
              if (field === 'event') type = val;
              else if (field === 'data') data += (data ? '\n' : '') + val;
              else if (field === 'id') id = val;
            }
            if (id) lastId = id;
            if (!data) continue;
            try { onEvent({ id, type, data: JSON.parse(data) }); } catch { /* a malformed event is skipped */ }
          }
        }
      } catch {
        if (stopped) return;
      }
      onState?.(false);
      if (stopped) return;
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  };
  void run();
  return () => { stopped = true; controller.abort(); };
}

export function fmtTime(iso?: string | null) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

export function fmtDuration(from?: string | null, to?: string | null) {
  if (!from) return '';
  const ms = (to ? new Date(to).getTime() : Date.now()) - new Date(from).getTime();
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60000);
  return `${m} min ${Math.round((ms % 60000) / 1000)} s`;
}

/** A run id short enough to read yet distinct: run ids are time-ordered (UUIDv7), so runs started together share their first characters. */
export function shortId(id: string) {
  return id.length > 16 ? `${id.slice(0, 8)}…${id.slice(-4)}` : id;
}
