// Who is signed in (GET /api/auth/me) and what their role lets them do. The role decides what
// the pages offer; the API still decides, and its 403s are shown as they come.

import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Me, Role } from '../api/types';
import { ROLES } from '../api/types';

export interface Session {
  me: Me;
  /** Reloads `me` (after a role change, say). */
  refresh: () => Promise<void>;
  signOut: () => Promise<void>;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in page');
  return s;
}

export function atLeast(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** Whether the signed-in person's role reaches `needed`. */
export function useCan(needed: Role): boolean {
  return atLeast(useSession().me.role, needed);
}

const signedInListeners = new Set<(me: Me) => void>();

/** The public pages call this after sign-in, sign-up or accepting an invite. */
export function announceSignedIn(me: Me): void {
  signedInListeners.forEach((l) => l(me));
}

export function onSignedIn(listener: (me: Me) => void): () => void {
  signedInListeners.add(listener);
  return () => void signedInListeners.delete(listener);
}
