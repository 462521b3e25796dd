// Provider API keys: admins add, rotate, test and delete them; everyone sees their status and
// usage. The key field is write-only: a secret goes in and never comes back out (only …last4).

import { useState } from 'preact/hooks';
import { api } from '../api/client';
import { useKeys } from '../api/queries';
import type { KeyService, KeyTest, ProviderKey } from '../api/types';
import { num } from '../lib/format';
import { useCan } from '../lib/session';
import { track } from '../lib/telemetry';
import { PageHead, RoleNote, StatusBadge, Table, Time } from '../ui/bits';
import { Dialog } from '../ui/Dialog';
import { Field, FormError, useAction } from '../ui/form';
import { Async, Empty, errorMessage } from '../ui/states';
import { toast } from '../ui/toast';
import { GatewayPanel } from './gateway-panel';
import { KeyUsage } from './KeyUsage';

type Open = { kind: 'add' } | { kind: 'rotate'; key: ProviderKey } | { kind: 'delete'; key: ProviderKey } | { kind: 'usage'; key: ProviderKey } | null;

export default function Keys() {
  const isAdmin = useCan('admin');
  const list = useKeys();
  const [open, setOpen] = useState<Open>(null);
  const [testing, setTesting] = useState<string | null>(null);
  const [results, setResults] = useState<Record<string, KeyTest>>({});
  const close = () => setOpen(null);

  const test = async (k: ProviderKey) => {
    setTesting(k.id);
    track('app.keys', 'test');
    try {
      const r = await api.post<KeyTest>(`/api/keys/${k.id}/test`);
      setResults({ ...results, [k.id]: r });
      toast({ kind: r.valid ? 'success' : 'error', title: r.valid ? `${k.name} works` : `${k.name} did not pass`, message: r.message ?? '' });
      list.reload();
    } catch (e) {
      toast({ kind: 'error', title: 'Test failed', message: errorMessage(e) });
    } finally {
      setTesting(null);
    }
  };

  return (
    <section>
      <PageHead title="API keys" sub="Provider keys your workflows call LLMs with, encrypted at rest.">
        {isAdmin && (
          <button type="button" class="btn btn-primary" onClick={() => setOpen({ kind: 'add' })}>
            Add key
          </button>
        )}
      </PageHead>
      {!isAdmin && <RoleNote>Your role can see keys and their usage; adding, rotating, testing and deleting them need the admin role.</RoleNote>}
      <Async
        r={list}
        isEmpty={(d) => d.data.length === 0}
        empty={<Empty title="No provider keys yet.">{isAdmin ? <p>Add an OpenAI, Anthropic or OpenAI-compatible key to let workflow steps call models.</p> : <p>An admin of your team can add one.</p>}</Empty>}
      >
        {(d) => (
          <Table label="Provider keys">
            <thead>
              <tr>
                <th>Name</th>
                <th>Service</th>
                <th>Key</th>
                <th>Status</th>
                <th>Uses</th>
                <th>Last used</th>
                <th>
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {d.data.map((k) => {
                const r = results[k.id];
                return (
                  <tr key={k.id} data-key-id={k.id}>
                    <td>
                      {k.name}
                      <div class="muted small">{k.base_url}</div>
                    </td>
                    <td>{k.service.replace('_', ' ')}</td>
                    <td class="mono">…{k.last4}</td>
                    <td>
                      <StatusBadge status={k.status} />
                      {r && (
                        <div class="small muted" data-test-result>
                          {r.valid ? 'valid' : 'refused'}
                          {r.http_status ? ` · HTTP ${r.http_status}` : ''}
                          {r.latency_ms !== null ? ` · ${r.latency_ms} ms` : ''}
                        </div>
                      )}
                    </td>
                    <td>{num(k.usage_count)}</td>
                    <td>
                      <Time ms={k.last_used_at} />
                    </td>
                    <td class="actions">
                      <button type="button" class="btn btn-small" onClick={() => setOpen({ kind: 'usage', key: k })}>
                        Usage
                      </button>
                      {isAdmin && (
                        <>
                          <button type="button" class="btn btn-small" disabled={testing === k.id} onClick={() => void test(k)}>
                            {testing === k.id ? 'Testing…' : 'Test'}
                          </button>
                          <button type="button" class="btn btn-small" onClick={() => setOpen({ kind: 'rotate', key: k })}>
                            Rotate
                          </button>
                          <button type="button" class="btn btn-small btn-danger-quiet" onClick={() => setOpen({ kind: 'delete', key: k })}>
                            Delete
                          </button>
                        </>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </Table>
        )}
      </Async>
      <GatewayPanel />
      {open?.kind === 'add' && <AddKey onClose={close} onDone={list.reload} />}
      {open?.kind === 'rotate' && <RotateKey k={open.key} onClose={close} onDone={list.reload} />}
      {open?.kind === 'delete' && <DeleteKey k={open.key} onClose={close} onDone={list.reload} />}
      {open?.kind === 'usage' && (
        <Dialog title={`Usage of ${open.key.name}`} onClose={close} wide>
          <KeyUsage k={open.key} />
        </Dialog>
      )}
    </section>
  );
}

/** The secret input: a password field the browser will not autofill or remember. */
function SecretInput({ id, value, onInput }: { id: string; value: string; onInput: (v: string) => void }) {
  return <input id={id} type="password" autoComplete="new-password" spellcheck={false} required class="mono" value={value} onInput={(e) => onInput(e.currentTarget.value)} />;
}

function AddKey({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const [form, setForm] = useState({ name: '', service: 'openai' as KeyService, key: '', base_url: '' });
  const add = useAction(async () => {
    const body: Record<string, string> = { name: form.name, service: form.service, key: form.key };
    if (form.base_url.trim()) body.base_url = form.base_url.trim();
    await api.post<ProviderKey>('/api/keys', body);
    track('app.keys', 'create', { service: form.service });
    setForm({ ...form, key: '' });
    toast({ kind: 'success', title: `${form.name} added` });
    onDone();
    onClose();
  });
  const f = add.fields;
  return (
    <Dialog title="Add a provider key" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void add.run();
        }}
      >
        <Field id="key-name" label="Name" error={f.name}>
          <input id="key-name" required value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} />
        </Field>
        <Field id="key-service" label="Service" error={f.service}>
          <select id="key-service" value={form.service} onChange={(e) => setForm({ ...form, service: e.currentTarget.value as KeyService })}>
            <option value="openai">OpenAI</option>
            <option value="anthropic">Anthropic</option>
            <option value="openai_compatible">OpenAI-compatible</option>
          </select>
        </Field>
        <Field id="key-secret" label="API key" error={f.key} hint="Stored encrypted; it is never shown again.">
          <SecretInput id="key-secret" value={form.key} onInput={(v) => setForm({ ...form, key: v })} />
        </Field>
        <Field
          id="key-base"
          label={form.service === 'openai_compatible' ? 'Base URL' : 'Base URL (optional)'}
          error={f.base_url}
          hint={form.service === 'anthropic' ? 'Default: https://api.anthropic.com' : form.service === 'openai' ? 'Default: https://api.openai.com' : 'The API root without /v1.'}
        >
          <input id="key-base" type="url" class="mono" required={form.service === 'openai_compatible'} value={form.base_url} onInput={(e) => setForm({ ...form, base_url: e.currentTarget.value })} />
        </Field>
        <FormError error={add.error} />
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn btn-primary" disabled={add.busy}>
            {add.busy ? 'Adding…' : 'Add key'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function RotateKey({ k, onClose, onDone }: { k: ProviderKey; onClose: () => void; onDone: () => void }) {
  const [secret, setSecret] = useState('');
  const rotate = useAction(async () => {
    await api.post<ProviderKey>(`/api/keys/${k.id}/rotate`, { key: secret });
    track('app.keys', 'rotate');
    setSecret('');
    toast({ kind: 'success', title: `${k.name} rotated` });
    onDone();
    onClose();
  });
  return (
    <Dialog title={`Rotate ${k.name}`} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void rotate.run();
        }}
      >
        <p class="muted">The new secret replaces …{k.last4}; the key keeps its id, so workflows and usage history stay attached.</p>
        <Field id="rotate-secret" label="New API key" error={rotate.fields.key}>
          <SecretInput id="rotate-secret" value={secret} onInput={setSecret} />
        </Field>
        <FormError error={rotate.error} />
        <div class="dialog-actions">
          <button type="button" class="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" class="btn btn-primary" disabled={rotate.busy}>
            {rotate.busy ? 'Rotating…' : 'Rotate'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteKey({ k, onClose, onDone }: { k: ProviderKey; onClose: () => void; onDone: () => void }) {
  const del = useAction(async () => {
    await api.del(`/api/keys/${k.id}`);
    track('app.keys', 'delete');
    toast({ kind: 'success', title: `${k.name} deleted` });
    onDone();
    onClose();
  });
  return (
    <Dialog title={`Delete ${k.name}?`} onClose={onClose}>
      <p>The secret is destroyed. Workflow steps that use this key will fail until they are pointed at another one.</p>
      <FormError error={del.error} />
      <div class="dialog-actions">
        <button type="button" class="btn" onClick={onClose}>
          Keep it
        </button>
        <button type="button" class="btn btn-danger" disabled={del.busy} onClick={() => void del.run()}>
          Delete key
        </button>
      </div>
    </Dialog>
  );
}
