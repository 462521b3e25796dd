// One workflow step in the editor. A draft keeps every field as text; `toStep` turns it into the
// API's step shape (headers from "Name: value" lines, max_tokens as a number).

import type { ProviderKey, Step } from '../api/types';
import { Field } from '../ui/form';

export interface Draft {
  id: string;
  kind: 'llm' | 'http';
  agent: string;
  key_id: string;
  model: string;
  prompt: string;
  system: string;
  max_tokens: string;
  method: string;
  url: string;
  headers: string;
  body: string;
}

export function blankStep(index: number, keys: ProviderKey[]): Draft {
  return { id: `step_${index + 1}`, kind: 'llm', agent: '', key_id: keys[0]?.id ?? '', model: '', prompt: '', system: '', max_tokens: '', method: 'POST', url: '', headers: '', body: '' };
}

export function toDraft(s: Step): Draft {
  const d = blankStep(0, []);
  d.id = s.id;
  d.kind = s.kind;
  if (s.kind === 'llm') {
    Object.assign(d, { agent: s.agent, key_id: s.key_id, model: s.model, prompt: s.prompt, system: s.system ?? '', max_tokens: s.max_tokens ? String(s.max_tokens) : '' });
  } else {
    const headers = Object.entries(s.headers ?? {}).map(([k, v]) => `${k}: ${v}`);
    Object.assign(d, { method: s.method, url: s.url, headers: headers.join('\n'), body: s.body ?? '' });
  }
  return d;
}

export function toStep(d: Draft): Record<string, unknown> {
  if (d.kind === 'llm') {
    const s: Record<string, unknown> = { id: d.id, kind: 'llm', agent: d.agent, key_id: d.key_id, model: d.model, prompt: d.prompt };
    if (d.system.trim()) s.system = d.system;
    if (d.max_tokens.trim()) s.max_tokens = Number(d.max_tokens);
    return s;
  }
  const s: Record<string, unknown> = { id: d.id, kind: 'http', method: d.method, url: d.url };
  const headers: Record<string, string> = {};
  for (const line of d.headers.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  if (Object.keys(headers).length) s.headers = headers;
  if (d.body.trim()) s.body = d.body;
  return s;
}

interface Props {
  index: number;
  draft: Draft;
  keys: ProviderKey[];
  errors: Record<string, string>;
  onChange: (d: Draft) => void;
  onRemove: (() => void) | undefined;
  onMove: (by: number) => void;
  last: boolean;
}

export function StepEditor({ index: i, draft: d, keys, errors, onChange, onRemove, onMove, last }: Props) {
  const err = (f: string) => errors[`steps[${i}].${f}`];
  const input = (f: keyof Draft, label: string, opts: { hint?: string; mono?: boolean; type?: 'text' | 'number' } = {}) => (
    <Field id={`s${i}-${f}`} label={label} error={err(f)} {...(opts.hint ? { hint: opts.hint } : {})}>
      <input id={`s${i}-${f}`} type={(opts.type ?? 'text') as 'text'} class={opts.mono ? 'mono' : ''} value={d[f]} onInput={(e) => onChange({ ...d, [f]: e.currentTarget.value })} />
    </Field>
  );
  const area = (f: keyof Draft, label: string, hint?: string) => (
    <Field id={`s${i}-${f}`} label={label} error={err(f)} {...(hint ? { hint } : {})}>
      <textarea id={`s${i}-${f}`} rows={3} value={d[f]} onInput={(e) => onChange({ ...d, [f]: e.currentTarget.value })} />
    </Field>
  );
  return (
    <li class="step-edit" aria-label={`Step ${i + 1}`}>
      <div class="step-edit-head">
        <strong>Step {i + 1}</strong>
        <span class="spacer" />
        <button type="button" class="btn btn-small" disabled={i === 0} onClick={() => onMove(-1)} aria-label={`Move step ${i + 1} up`}>
          ↑
        </button>
        <button type="button" class="btn btn-small" disabled={last} onClick={() => onMove(1)} aria-label={`Move step ${i + 1} down`}>
          ↓
        </button>
        {onRemove && (
          <button type="button" class="btn btn-small" onClick={onRemove}>
            Remove
          </button>
        )}
      </div>
      {err('id') === undefined && errors[`steps[${i}]`] && <p class="field-error">{errors[`steps[${i}]`]}</p>}
      <div class="grid2">
        {input('id', 'Step id', { hint: 'Letters, digits, _ and -; later steps use {{steps.<id>.output}}.', mono: true })}
        <Field id={`s${i}-kind`} label="Kind" error={err('kind')}>
          <select id={`s${i}-kind`} value={d.kind} onChange={(e) => onChange({ ...d, kind: e.currentTarget.value as Draft['kind'] })}>
            <option value="llm">LLM call</option>
            <option value="http">HTTP request</option>
          </select>
        </Field>
      </div>
      {d.kind === 'llm' ? (
        <>
          <div class="grid3">
            {input('agent', 'Agent', { hint: 'Who this step acts as, for usage and errors.' })}
            <Field id={`s${i}-key_id`} label="Provider key" error={err('key_id')}>
              <select id={`s${i}-key_id`} value={d.key_id} onChange={(e) => onChange({ ...d, key_id: e.currentTarget.value })}>
                <option value="">Choose a key…</option>
                {keys.map((k) => (
                  <option key={k.id} value={k.id}>
                    {k.name} ({k.service}, …{k.last4})
                  </option>
                ))}
              </select>
            </Field>
            {input('model', 'Model', { mono: true })}
          </div>
          {area('prompt', 'Prompt', 'Use {{input.<field>}} and {{steps.<id>.output}}.')}
          {area('system', 'System prompt (optional)')}
          {input('max_tokens', 'Max tokens (optional)', { type: 'number' })}
        </>
      ) : (
        <>
          <div class="grid3">
            <Field id={`s${i}-method`} label="Method" error={err('method')}>
              <select id={`s${i}-method`} value={d.method} onChange={(e) => onChange({ ...d, method: e.currentTarget.value })}>
                {['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((m) => (
                  <option key={m}>{m}</option>
                ))}
              </select>
            </Field>
            {input('url', 'URL', { mono: true })}
          </div>
          {area('headers', 'Headers (optional)', 'One per line: Name: value')}
          {area('body', 'Body (optional)')}
        </>
      )}
    </li>
  );
}
