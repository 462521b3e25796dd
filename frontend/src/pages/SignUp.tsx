// POST /api/auth/signup: a new team and its owner, signed in at once.

import { useState } from 'preact/hooks';
import { api } from '../api/client';
import type { Me } from '../api/types';
import { announceSignedIn } from '../lib/session';
import { track } from '../lib/telemetry';
import { Field, FormError, useAction } from '../ui/form';

export default function SignUp() {
  const [form, setForm] = useState({ name: '', email: '', password: '', team_name: '' });
  const set = (k: keyof typeof form) => (e: { currentTarget: HTMLInputElement }) => setForm({ ...form, [k]: e.currentTarget.value });
  const signup = useAction(async () => {
    const me = await api.post<Me>('/api/auth/signup', form, { quiet401: true });
    track('app.sign_up', 'signed_up');
    announceSignedIn(me);
  });
  const f = signup.fields;
  return (
    <section class="auth-card" aria-labelledby="signup-title">
      <p class="brand big">Beacon</p>
      <h1 id="signup-title">Create your team</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void signup.run();
        }}
      >
        <Field id="name" label="Your name" error={f.name}>
          <input id="name" autoComplete="name" required value={form.name} onInput={set('name')} />
        </Field>
        <Field id="email" label="Email" error={f.email}>
          <input id="email" type="email" autoComplete="email" required value={form.email} onInput={set('email')} />
        </Field>
        <Field id="password" label="Password" error={f.password} hint="At least 8 characters.">
          <input id="password" type="password" autoComplete="new-password" required minLength={8} value={form.password} onInput={set('password')} />
        </Field>
        <Field id="team_name" label="Team name" error={f.team_name}>
          <input id="team_name" required value={form.team_name} onInput={set('team_name')} />
        </Field>
        <FormError error={signup.error} />
        <button class="btn btn-primary wide" type="submit" disabled={signup.busy}>
          {signup.busy ? 'Creating…' : 'Create team'}
        </button>
      </form>
      <p class="muted">
        Already have an account? <a href="/sign-in">Sign in</a>
      </p>
    </section>
  );
}
