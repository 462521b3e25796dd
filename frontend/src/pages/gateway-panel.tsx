// The LLM gateway on the API keys page: the base URLs that route the providers' own client
// libraries through Beacon with the team's keys, and a copyable example for each.

import { track } from '../lib/telemetry';
import { toast } from '../ui/toast';

/** Each provider's Python client, as a person would point it at Beacon. */
const PROVIDERS = [
  { id: 'openai', label: 'OpenAI', path: '/api/gateway/openai/v1', cls: 'OpenAI', call: 'chat.completions.create', model: 'gpt-4o-mini', extra: '' },
  { id: 'anthropic', label: 'Anthropic', path: '/api/gateway/anthropic', cls: 'Anthropic', call: 'messages.create', model: 'claude-sonnet-4-5', extra: '\n    max_tokens=1024,' },
];

function example(p: (typeof PROVIDERS)[number], base: string): string {
  return `from ${p.id} import ${p.cls}

client = ${p.cls}(
    base_url="${base}",
    api_key="<a Beacon access token>",
    default_headers={"x-beacon-agent": "my-agent"},
)
reply = client.${p.call}(
    model="${p.model}",${p.extra}
    messages=[{"role": "user", "content": "Hello"}],
)`;
}

function copy(text: string, what: string) {
  track('app.keys', 'copy_gateway', { what });
  void navigator.clipboard?.writeText(text).then(() => toast({ kind: 'success', title: `${what} copied` }));
}

export function GatewayPanel() {
  const origin = window.location.origin;
  return (
    <section class="gateway" aria-labelledby="gateway-title">
      <h2 id="gateway-title">LLM gateway</h2>
      <p class="muted">
        Call providers from your own code through Beacon: point the provider's client library at a base URL below and give it a Beacon access token (member role or higher) as its API key.
        Every call uses the team's newest key of that service (or the one named in <code>x-beacon-key</code>), and is priced, counted in Token usage and Traces, and held to the budget.
        Add <code>x-beacon-cache-ttl: &lt;seconds&gt;</code> to answer repeated calls from the cache.
      </p>
      {PROVIDERS.map((p) => {
        const base = origin + p.path;
        const text = example(p, base);
        return (
          <div key={p.id} class="gateway-provider" data-gateway={p.id}>
            <h3>{p.label}</h3>
            <div class="copy-line">
              <code class="mono" data-gateway-base>
                {base}
              </code>
              <button type="button" class="btn btn-small" onClick={() => copy(base, `${p.label} base URL`)}>
                Copy URL
              </button>
            </div>
            <pre class="code" aria-label={`${p.label} example`}>
              <code>{text}</code>
            </pre>
            <button type="button" class="btn btn-small" onClick={() => copy(text, `${p.label} example`)}>
              Copy example
            </button>
          </div>
        );
      })}
    </section>
  );
}
