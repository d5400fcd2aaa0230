// Sign-in: the local demo mode needs none; otherwise an API key (cookie session) or OIDC (authorization code + PKCE
// with oidc-client-ts, the access token then sent as a bearer).
import { UserManager, WebStorageStateStore } from 'oidc-client-ts';
import { api, ApiError, setBearer, setCsrf, type Session } from './api';

export interface AuthConfig { oidc?: { authority: string; clientId: string; scope?: string } }

let manager: UserManager | undefined;

async function authConfig(): Promise<AuthConfig> {
  try { return await api<AuthConfig>('/auth/config'); } catch { return {}; }
}

function oidcManager(cfg: AuthConfig): UserManager | undefined {
  if (!cfg.oidc) return undefined;
  manager ??= new UserManager({
    authority: cfg.oidc.authority,
    client_id: cfg.oidc.clientId,
    redirect_uri: `${location.origin}/auth/callback`,
    post_logout_redirect_uri: `${location.origin}/`,
    response_type: 'code',
    scope: cfg.oidc.scope ?? 'openid profile',
    userStore: new WebStorageStateStore({ store: sessionStorage }),
  });
  return manager;
}

/** The current session, finishing an OIDC redirect first; null when sign-in is needed. */
export async function loadSession(): Promise<{ session: Session | null; config: AuthConfig }> {
  const config = await authConfig();
  const m = oidcManager(config);
  if (m) {
    if (location.pathname === '/auth/callback') {
      const user = await m.signinRedirectCallback();
      history.replaceState(null, '', (user.state as string) || '/');
    }
    const user = await m.getUser();
    if (user && !user.expired) setBearer(user.access_token);
  }
  try {
    const session = await api<Session>('/session');
    setCsrf(session.csrfToken);
    return { session, config };
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return { session: null, config };
    throw e;
  }
}

export async function signInWithKey(apiKey: string): Promise<Session> {
  await api('/session', 'POST', { apiKey });
  const session = await api<Session>('/session');
  setCsrf(session.csrfToken);
  return session;
}

export async function signInWithOidc(config: AuthConfig) {
  await oidcManager(config)?.signinRedirect({ state: location.pathname + location.search });
}

export async function signOut() {
  try { await api('/session', 'DELETE'); } catch { /* already gone */ }
  setBearer(undefined);
  setCsrf(undefined);
  if (manager) await manager.removeUser();
}
