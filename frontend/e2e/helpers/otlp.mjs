// @ts-check
// An agent's trace as an OpenTelemetry exporter sends it over OTLP/HTTP in JSON (hex ids, int64
// nanoseconds as strings, GenAI attributes), and the access token that sends it — for the browser
// tests of the Traces pages, which must show what a real client reported.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'playwright-core';
import { RETRY } from './team.mjs';

/** @typedef {import('playwright-core').APIRequestContext} Api */

/** @param {number} bytes */
const hex = (bytes) => randomBytes(bytes).toString('hex');

/** @param {number} ms epoch ms */
const nanos = (ms) => String(BigInt(Math.round(ms * 1000)) * 1000n);

/** @param {Record<string, string | number>} attrs */
function attributes(attrs) {
  return Object.entries(attrs).map(([key, v]) => ({ key, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v } }));
}

export const CHAT_INPUT = [
  { role: 'system', parts: [{ type: 'text', content: 'You are a support agent. Be brief.' }] },
  { role: 'user', parts: [{ type: 'text', content: 'Where is order 1234?' }] },
];
export const CHAT_OUTPUT = [{ role: 'assistant', finish_reason: 'tool_call', parts: [{ type: 'tool_call', id: 'call_1', name: 'lookup_order', arguments: { order_id: '1234' } }] }];

/**
 * An agent run as a GenAI-instrumented client reports it: `invoke_agent support` → `chat
 * gpt-4o-mini` (usage: 1,200 input tokens of which 800 cached, 210 output; its messages) →
 * `execute_tool lookup_order` → `GET /orders/1234`, which failed (status ERROR, an exception
 * event).
 * @param {string} service
 */
export function agentTrace(service) {
  const traceId = hex(16);
  const ids = { agent: hex(8), chat: hex(8), tool: hex(8), http: hex(8) };
  const t0 = Date.now() - 3000;
  /**
   * @param {string} spanId @param {string | null} parent @param {string} name @param {number} kind
   * @param {number} from ms after t0 @param {number} to @param {Record<string, string | number>} attrs
   * @param {object} [more]
   */
  const span = (spanId, parent, name, kind, from, to, attrs, more = {}) => ({
    traceId,
    spanId,
    ...(parent ? { parentSpanId: parent } : {}),
    name,
    kind,
    startTimeUnixNano: nanos(t0 + from),
    endTimeUnixNano: nanos(t0 + to),
    attributes: attributes(attrs),
    status: {},
    ...more,
  });
  const spans = [
    span(ids.agent, null, 'invoke_agent support', 1, 0, 2400.5, { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'support' }),
    span(ids.chat, ids.agent, 'chat gpt-4o-mini', 3, 10.25, 1210.75, {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 1200,
      'gen_ai.usage.cache_read.input_tokens': 800,
      'gen_ai.usage.output_tokens': 210,
      'gen_ai.input.messages': JSON.stringify(CHAT_INPUT),
      'gen_ai.output.messages': JSON.stringify(CHAT_OUTPUT),
    }),
    span(ids.tool, ids.chat, 'execute_tool lookup_order', 1, 1220, 1900, { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'lookup_order' }),
    span(
      ids.http,
      ids.tool,
      'GET /orders/1234',
      3,
      1230.5,
      1880,
      { 'http.request.method': 'GET', 'http.response.status_code': 503 },
      {
        status: { code: 2, message: 'orders service answered 503' },
        events: [{ name: 'exception', timeUnixNano: nanos(t0 + 1879), attributes: attributes({ 'exception.type': 'HTTPError', 'exception.message': '503 Service Unavailable' }) }],
      },
    ),
  ];
  const body = { resourceSpans: [{ resource: { attributes: attributes({ 'service.name': service }) }, scopeSpans: [{ scope: { name: 'beacon-e2e', version: '1.0.0' }, spans }] }] };
  return { traceId, ids, body };
}

/**
 * A new access token with the member role (the role that may send traces).
 * @param {Api} api
 * @returns {Promise<string>}
 */
export async function memberToken(api) {
  const res = await api.post('/api/access-tokens', { data: { name: 'otel exporter', role: 'member' }, ...RETRY });
  if (res.status() !== 201) assert.fail(`create access token: HTTP ${res.status()} ${await res.text()}`);
  return (await res.json()).token;
}

/**
 * Exports spans as the OTLP/HTTP exporter does: JSON to /api/otlp/v1/traces with a bearer token,
 * and no cookies (a fresh request context of its own).
 * @param {string} address
 * @param {string} token
 * @param {object} body
 */
export async function exportTrace(address, token, body) {
  const ctx = await request.newContext({ baseURL: address });
  try {
    const res = await ctx.post('/api/otlp/v1/traces', { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, data: JSON.stringify(body), ...RETRY });
    const text = await res.text();
    assert.equal(res.status(), 200, `OTLP export: HTTP ${res.status()} ${text}`);
    const answer = text ? JSON.parse(text) : {};
    const rejected = Number(answer.partialSuccess?.rejectedSpans ?? answer.partial_success?.rejected_spans ?? 0);
    assert.equal(rejected, 0, `spans were refused: ${text}`);
  } finally {
    await ctx.dispose();
  }
}
