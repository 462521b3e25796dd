// POST /api/auth/login. Wrong email and wrong password read the same; too many attempts say
// when to try again.

import { useState } from 'preact/hooks';
import { api } from '../api/client';
import type { Me } from '../api/types';
import { announceSignedIn } from '../lib/session';
import { track } from '../lib/telemetry';
import { Field, FormError, useAction } from '../ui/form';
import type { PageProps } from '../routes';

export default function SignIn({ query }: PageProps) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const login = useAction(async () => {
    const me = await api.post<Me>('/api/auth/login', { email, password }, { quiet401: true });
    track('app.sign_in', 'signed_in');
    announceSignedIn(me);
  });
  const next = query.get('next');
  return (
    <section class="auth-card" aria-labelledby="signin-title">
      <p class="brand big">Beacon</p>
      <h1 id="signin-title">Sign in</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void login.run();
        }}
      >
        <Field id="email" label="Email" error={login.fields.email}>
          <input id="email" type="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </Field>
        <Field id="password" label="Password" error={login.fields.password}>
          <input id="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
        <FormError error={login.error} />
        <button class="btn btn-primary wide" type="submit" disabled={login.busy}>
          {login.busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p class="muted">
        New to Beacon? <a href={`/sign-up${next ? `?next=${encodeURIComponent(next)}` : ''}`}>Create a team</a>
      </p>
    </section>
  );
}
