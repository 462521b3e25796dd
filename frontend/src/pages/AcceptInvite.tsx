// /accept-invite?token=…: POST /api/auth/accept-invite joins the team with the invited role.
// Used, revoked or expired links (410) and unknown ones (404) say so plainly.

import { useState } from 'preact/hooks';
import { api, ApiError } from '../api/client';
import type { Me } from '../api/types';
import { navigate } from '../lib/router';
import { announceSignedIn } from '../lib/session';
import { track } from '../lib/telemetry';
import { Field, FormError, useAction } from '../ui/form';
import { HOME, type PageProps } from '../routes';

export default function AcceptInvite({ query }: PageProps) {
  const token = query.get('token') ?? '';
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [gone, setGone] = useState<string | null>(null);
  const accept = useAction(async () => {
    try {
      const me = await api.post<Me>('/api/auth/accept-invite', { token, name, password }, { quiet401: true });
      track('app.accept_invite', 'joined', { role: me.role });
      announceSignedIn(me);
      navigate(HOME, { replace: true });
    } catch (e) {
      if (e instanceof ApiError && e.status === 410) setGone(e.message);
      else if (e instanceof ApiError && e.status === 404) setGone('This invite link is not valid. Check that you copied all of it, or ask for a new one.');
      else throw e;
    }
  });
  if (!token || gone) {
    return (
      <section class="auth-card" role="alert">
        <p class="brand big">Beacon</p>
        <h1>Invite not usable</h1>
        <p>{gone ?? 'This link has no invite token. Open the link from your invitation exactly as it was sent.'}</p>
        <a href="/sign-in">Go to sign in</a>
      </section>
    );
  }
  return (
    <section class="auth-card" aria-labelledby="invite-title">
      <p class="brand big">Beacon</p>
      <h1 id="invite-title">Join your team</h1>
      <p class="muted">Choose your name and a password to accept the invitation.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void accept.run();
        }}
      >
        <Field id="name" label="Your name" error={accept.fields.name}>
          <input id="name" autoComplete="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field id="password" label="Password" error={accept.fields.password} hint="At least 8 characters.">
          <input id="password" type="password" autoComplete="new-password" required minLength={8} value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
        <FormError error={accept.error} />
        <button class="btn btn-primary wide" type="submit" disabled={accept.busy}>
          {accept.busy ? 'Joining…' : 'Accept invite'}
        </button>
      </form>
    </section>
  );
}
