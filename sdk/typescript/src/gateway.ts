// Beacon's LLM gateway for the providers' own client libraries: change their base URL and API
// key (the Beacon access token), and every call is priced, counted, cached and held to the
// budget with the team's provider keys (SPEC.md, "LLM gateway").

export type GatewayService = 'openai' | 'anthropic';

// OpenAI's clients append `/chat/completions` to a base that ends in `/v1`; Anthropic's append
// `/v1/messages` themselves.
const BASES: Record<GatewayService, string> = {
  openai: '/api/gateway/openai/v1',
  anthropic: '/api/gateway/anthropic',
};

/** The base URL for `service` at the Beacon at `url`. */
export function gatewayBaseURL(url: string, service: GatewayService): string {
  const base = BASES[service];
  if (base === undefined) throw new TypeError(`the gateway serves openai and anthropic, not ${String(service)}`);
  return url.replace(/\/+$/, '') + base;
}

export interface GatewayHeaderOptions {
  /** The agent the calls are counted under (`x-beacon-agent`). */
  agent?: string;
  /** Which of the team's provider keys to use (`x-beacon-key`); default: the newest valid one. */
  keyId?: string;
  /** A key to retry once on after a 429 or 5xx (`x-beacon-fallback-key`). */
  fallbackKeyId?: string;
  /** Seconds (at most 7 days) a non-streamed answer may come from Beacon's cache (`x-beacon-cache-ttl`). */
  cacheTtl?: number;
}

/** Headers to add to the client (`defaultHeaders` in OpenAI's and Anthropic's SDKs). */
export function gatewayHeaders(options: GatewayHeaderOptions = {}): Record<string, string> {
  const headers: Record<string, string> = {};
  if (options.agent) headers['x-beacon-agent'] = options.agent;
  if (options.keyId) headers['x-beacon-key'] = options.keyId;
  if (options.fallbackKeyId) headers['x-beacon-fallback-key'] = options.fallbackKeyId;
  if (options.cacheTtl !== undefined) headers['x-beacon-cache-ttl'] = String(Math.trunc(options.cacheTtl));
  return headers;
}
