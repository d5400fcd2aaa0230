// Who is signed in and what their roles allow; actions a role may not take are hidden or disabled (the server
// refuses them anyway).
import { createContext, useContext } from 'react';
import type { Session } from './api';

export const SessionContext = createContext<Session | null>(null);
export function useSession() { return useContext(SessionContext)!; }

export type Action = 'run' | 'cancel' | 'retry' | 'fire' | 'decide' | 'promote' | 'write' | 'pause';

const needs: Record<Action, string[]> = {
  run: ['operator', 'admin'],
  cancel: ['operator', 'admin'],
  retry: ['operator', 'admin'],
  fire: ['operator', 'admin'],
  decide: ['approver', 'admin'],
  promote: ['approver', 'admin'],
  write: ['admin'],
  pause: ['admin'],
};

export function can(session: Session | null, action: Action) {
  return !!session && session.roles.some((r) => needs[action].includes(r));
}

export function whyNot(action: Action) {
  return `Needs the ${needs[action].join(' or ')} role`;
}

export function useCan(action: Action) { return can(useSession(), action); }
