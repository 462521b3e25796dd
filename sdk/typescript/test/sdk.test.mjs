// @ts-check
// @beacon/sdk against the real Worker: what arrives, how often, and what happens when the network
// or the server misbehaves (through the fault-injecting proxy). `make test-sdk-typescript` runs
// this file from a folder where the packed package is installed, as a user would have it; one
// server for the whole file (sdk/testing/server.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Beacon, BeaconDeliveryError, gatewayBaseURL, gatewayHeaders } from '@beacon/sdk';
import { configureTracing, tracesEndpoint } from '@beacon/sdk/otel';

const REPO = resolve(process.env.BEACON_REPO ?? '../../..');
const { startBeacon } = await import(pathToFileURL(join(REPO, 'sdk/testing/server.mjs')).href);
const BATCH = '/api/telemetry/batch';

/** @type {{worker: string, proxy: string, member_token: string, viewer_token: string, stop: () => Promise<void>}} */
let server;

before(async () => {
  server = await startBeacon(join(REPO, 'target/sdk', `typescript-${Date.now()}`));
});

after(async () => {
  await server?.stop();
});

const unique = () => `ts-${randomUUID().slice(0, 12)}`;

/** @param {string} path */
async function get(path, token = server.member_token) {
  const res = await fetch(server.worker + path, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (res.headers.get('content-type') ?? '').startsWith('application/json') ? res.json() : res.text();
}

/** Events stored for `component` in the last day (the analytics rollup). */
async function actions(/** @type {string} */ component) {
  let cursor = '';
  for (;;) {
    const page = await get(`/api/analytics/components?range=24h&limit=200${cursor}`);
    const row = page.data.find((/** @type {any} */ r) => r.component === component);
    if (row) return row.actions;
    if (!page.next_cursor) return 0;
    cursor = `&cursor=${encodeURIComponent(page.next_cursor)}`;
  }
}

/** One CSV record per line is enough here except inside quotes; a small RFC 4180 reader. */
function parseCsv(/** @type {string} */ text) {
  /** @type {string[][]} */
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell || row.length) rows.push([...row, cell]);
  const [header = [], ...records] = rows;
  return records.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

/** The raw events of `component` from the CSV export. */
async function exported(/** @type {string} */ component) {
  return parseCsv(await get('/api/analytics/export.csv?range=24h')).filter((r) => r.component === component);
}

/** @param {Record<string, unknown>} fault */
async function fault(fault) {
  await fetch(`${server.proxy}/__proxy/faults`, { method: 'POST', body: JSON.stringify(fault) });
}

/** @returns {Promise<any[]>} */
async function proxyLog(/** @type {string} */ path) {
  const log = await (await fetch(`${server.proxy}/__proxy/log`)).json();
  return log.filter((/** @type {any} */ e) => e.path === path);
}

async function resetProxy() {
  await fetch(`${server.proxy}/__proxy/reset`, { method: 'POST' });
}

/** @param {() => Promise<boolean>} check */
async function waitFor(check, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

const client = (/** @type {string} */ url, /** @type {import('@beacon/sdk').BeaconOptions} */ options = {}, token = server.member_token) =>
  new Beacon(url, token, { flushAtExit: false, ...options });

test('tracked events arrive and are counted once', async () => {
  const component = unique();
  const beacon = client(server.worker);
  for (let i = 0; i < 120; i++) beacon.track(component, 'clicked', { i }, { userId: 'user-1', sessionId: 'session-1' });
  assert.equal(await beacon.flush(10_000), true);
  const stats = beacon.stats();
  assert.deepEqual([stats.sent, stats.duplicates, stats.queued, stats.failed], [120, 0, 0, 0]);
  assert.equal(await actions(component), 120);
  const rows = await exported(component);
  assert.equal(new Set(rows.map((r) => r.id)).size, 120);
  assert.deepEqual([...new Set(rows.map((r) => r.user_id))], ['user-1']);
  assert.equal(await beacon.close(1000), true);
});

test('events are sent in the background without flush', async () => {
  const component = unique();
  const beacon = client(server.worker, { flushInterval: 200 });
  beacon.track(component, 'opened');
  assert.ok(await waitFor(async () => (await actions(component)) === 1));
  await beacon.close(1000);
});

test('a batch retried after a 503 is stored once', async () => {
  await resetProxy();
  // The proxy lets the Worker store the batch, then answers 503: the client never learns it was
  // stored, and sends the same batch again.
  await fault({ path: BATCH, mode: 'forward-then-status', status: 503 });
  const component = unique();
  const beacon = client(server.proxy, { retryBase: 50 });
  for (let i = 0; i < 40; i++) beacon.track(component, 'retried', { i });
  assert.equal(await beacon.flush(10_000), true);
  const batches = await proxyLog(BATCH);
  assert.deepEqual(batches.map((b) => b.status), [503, 200]);
  assert.deepEqual(batches[0].ids, batches[1].ids, 'the retry must carry the same event ids');
  const stats = beacon.stats();
  assert.deepEqual([stats.sent, stats.duplicates, stats.retries], [0, 40, 1]);
  assert.equal(await actions(component), 40);
  await beacon.close(1000);
});

test('Retry-After is honoured', async () => {
  await resetProxy();
  await fault({ path: BATCH, mode: 'status', status: 429, retry_after: '1' });
  const component = unique();
  const beacon = client(server.proxy, { retryBase: 10 });
  beacon.track(component, 'throttled');
  assert.equal(await beacon.flush(10_000), true);
  const [first, second] = await proxyLog(BATCH);
  assert.deepEqual([first.status, second.status], [429, 200]);
  const gap = second.at - first.at;
  assert.ok(gap >= 1000 && gap < 3000, `retried ${gap} ms after a Retry-After of 1 s`);
  assert.equal(await actions(component), 1);
  await beacon.close(1000);
});

test('a full queue drops the oldest events and counts them', async () => {
  const component = unique();
  const beacon = client(server.worker, { maxQueueSize: 10, flushInterval: 3_600_000 });
  for (let i = 0; i < 25; i++) beacon.track(component, `a${String(i).padStart(2, '0')}`);
  const stats = beacon.stats();
  assert.deepEqual([stats.queued, stats.dropped], [10, 15]);
  assert.equal(await beacon.flush(10_000), true);
  const names = (await exported(component)).map((r) => r.action).sort();
  assert.deepEqual(names, Array.from({ length: 10 }, (_, i) => `a${i + 15}`));
  await beacon.close(1000);
});

test('flush and close return within their timeout when the server hangs', async () => {
  await resetProxy();
  await fault({ path: BATCH, mode: 'hang', times: 100 });
  const component = unique();
  const beacon = client(server.proxy, { requestTimeout: 30_000 });
  beacon.track(component, 'stuck');
  let started = Date.now();
  assert.equal(await beacon.flush(500), false);
  assert.ok(Date.now() - started < 1500, `flush took ${Date.now() - started} ms`);
  beacon.track(component, 'stuck again');
  started = Date.now();
  assert.equal(await beacon.close(500), false);
  assert.ok(Date.now() - started < 1500, `close took ${Date.now() - started} ms`);
  assert.equal(beacon.stats().queued, 2);
  await resetProxy();
});

test('a script that exits without flushing loses no events', async () => {
  const component = unique();
  const script = join(process.cwd(), `exit-${component}.mjs`);
  writeFileSync(
    script,
    `import { Beacon } from '@beacon/sdk';
const beacon = new Beacon(${JSON.stringify(server.worker)}, ${JSON.stringify(server.member_token)});
for (let i = 0; i < 1000; i++) beacon.track(${JSON.stringify(component)}, 'exiting', { i });
`,
  );
  const started = Date.now();
  await promisify(execFile)(process.execPath, [script], { timeout: 60_000 });
  const elapsed = Date.now() - started;
  assert.equal(await actions(component), 1000);
  assert.ok(elapsed < 10_000, `the script took ${elapsed} ms to exit`);
});

test('exit is bounded by shutdownTimeout when the server hangs', async () => {
  await resetProxy();
  await fault({ path: BATCH, mode: 'hang', times: 100 });
  const component = unique();
  const script = join(process.cwd(), `hang-${component}.mjs`);
  writeFileSync(
    script,
    `import { Beacon } from '@beacon/sdk';
const beacon = new Beacon(${JSON.stringify(server.proxy)}, ${JSON.stringify(server.member_token)}, { shutdownTimeout: 1000, requestTimeout: 30000 });
beacon.track(${JSON.stringify(component)}, 'never answered');
`,
  );
  const started = Date.now();
  await promisify(execFile)(process.execPath, [script], { timeout: 60_000 });
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 4000, `the script took ${elapsed} ms to exit with a shutdownTimeout of 1 s`);
  assert.deepEqual((await proxyLog(BATCH)).map((e) => e.mode), ['hang']);
  await resetProxy();
});

test('a Worker-style client sends only when flushed, and flush is a promise for waitUntil', async () => {
  const component = unique();
  const beacon = client(server.worker, { flushInterval: 0 });
  beacon.track(component, 'request');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(beacon.stats().queued, 1);
  const pending = beacon.flush();
  assert.ok(pending instanceof Promise);
  assert.equal(await pending, true);
  assert.equal(await actions(component), 1);
  await beacon.close(1000);
});

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((ok, fail) => {
    const probe = createServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const addr = probe.address();
      probe.close(() => ok(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

/**
 * A Cloudflare Worker of our own under `wrangler dev` (workerd), bundling the installed
 * @beacon/sdk the way a user's Worker would: one client made on the first request and kept,
 * each request's flush handed to `ctx.waitUntil`.
 */
async function startSdkWorker() {
  writeFileSync(
    'worker.fixture.mjs',
    `import { Beacon } from '@beacon/sdk';
let beacon;
export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    if (url.pathname === '/health') return new Response('ok');
    beacon ??= new Beacon(url.searchParams.get('beacon'), url.searchParams.get('token'));
    beacon.track(url.searchParams.get('component'), 'handled', { path: url.pathname });
    ctx.waitUntil(beacon.flush());
    return Response.json(beacon.stats());
  },
};
`,
  );
  writeFileSync('wrangler.fixture.toml', 'name = "sdk-fixture"\nmain = "worker.fixture.mjs"\ncompatibility_date = "2026-04-01"\n');
  const [port, inspector] = [await freePort(), await freePort()];
  const log = openSync('wrangler.fixture.log', 'a');
  const args = ['dev', '--config', 'wrangler.fixture.toml', '--local', '--ip', '127.0.0.1', '--port', String(port)];
  args.push('--inspector-port', String(inspector), '--show-interactive-dev-session=false');
  const child = spawn(join(REPO, 'node_modules/.bin/wrangler'), args, {
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true' },
  });
  const stop = () => {
    try {
      process.kill(-(/** @type {number} */ (child.pid)), 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const address = `http://127.0.0.1:${port}`;
  const up = await waitFor(async () => {
    try {
      return (await fetch(`${address}/health`)).status === 200;
    } catch {
      return false;
    }
  }, 90_000);
  if (!up) {
    stop();
    throw new Error('the SDK fixture Worker did not start; see wrangler.fixture.log');
  }
  return { address, stop };
}

test('in a Cloudflare Worker, a flush handed to waitUntil delivers', async () => {
  const worker = await startSdkWorker();
  try {
    const component = unique();
    const query = new URLSearchParams({ beacon: server.worker, token: server.member_token, component });
    for (const path of ['/one', '/two']) {
      const res = await fetch(`${worker.address}${path}?${query}`);
      assert.equal(res.status, 200);
    }
    assert.ok(await waitFor(async () => (await actions(component)) === 2), 'the Worker’s events did not arrive');
    const paths = (await exported(component)).map((r) => JSON.parse(r.properties ?? '{}').path).sort();
    assert.deepEqual(paths, ['/one', '/two']);
  } finally {
    worker.stop();
  }
});

test('metrics arrive', async () => {
  const component = unique();
  const beacon = client(server.worker);
  beacon.metric(component, 'latency_ms', 12.5, { route: '/checkout' });
  beacon.metric(component, 'latency_ms', 7);
  assert.equal(await beacon.flush(10_000), true);
  const samples = (await get(`/api/telemetry/metrics/${component}`)).data;
  assert.deepEqual(samples.map((/** @type {any} */ s) => s.value).sort(), [12.5, 7]);
  assert.ok(samples.every((/** @type {any} */ s) => s.metric_name === 'latency_ms'));
  assert.ok(samples.some((/** @type {any} */ s) => s.metadata?.route === '/checkout'));
  await beacon.close(1000);
});

test('errors arrive and group', async () => {
  const component = unique();
  const beacon = client(server.worker);
  const message = `upstream timed out in ${component}`;
  for (let i = 0; i < 2; i++) beacon.error('TimeoutError', message, { severity: 'high', stack: 'Error: ...', context: { component } });
  assert.equal(await beacon.flush(10_000), true);
  const issues = (await get('/api/errors?limit=200')).data.filter((/** @type {any} */ i) => i.message === message);
  assert.equal(issues.length, 1);
  assert.deepEqual([issues[0].type, issues[0].severity, issues[0].count], ['TimeoutError', 'high', 2]);
  await beacon.close(1000);
});

test('bad input never throws and is counted', async () => {
  const component = unique();
  /** @type {BeaconDeliveryError[]} */
  const errors = [];
  const beacon = client(server.worker, { onError: (e) => errors.push(e) });
  /** @type {any} */
  const circular = {};
  circular.self = circular;
  beacon.track(component, 'ok');
  beacon.track(component, 'x'.repeat(101)); // the server refuses names over 100 characters
  beacon.track(component, 'circular', circular); // not JSON
  beacon.track(/** @type {any} */ (null), /** @type {any} */ (null));
  beacon.metric(component, 'bad', Infinity);
  beacon.error('E', 'm', /** @type {any} */ (null)); // options that are not an object
  assert.equal(await beacon.flush(10_000), true);
  const stats = beacon.stats();
  assert.equal(stats.sent, 1);
  assert.equal(stats.rejected, 5); // the long name, the circular one, null/null, Infinity, the options
  assert.ok(errors.every((e) => e instanceof BeaconDeliveryError));
  assert.equal(await actions(component), 1);
  await beacon.close(1000);
});

test('a refusing server is not retried', async () => {
  await resetProxy();
  const component = unique();
  /** @type {BeaconDeliveryError[]} */
  const errors = [];
  const beacon = client(server.proxy, { onError: (e) => errors.push(e) }, server.viewer_token);
  beacon.track(component, 'forbidden');
  const started = Date.now();
  assert.equal(await beacon.flush(10_000), true);
  assert.ok(Date.now() - started < 2000);
  assert.deepEqual((await proxyLog(BATCH)).map((e) => e.status), [403]);
  assert.equal(beacon.stats().failed, 1);
  assert.deepEqual(errors.map((e) => [e.status, e.kind, e.count]), [[403, 'event', 1]]);
  await beacon.close(1000);
});

test('beforeSend can change or drop items', async () => {
  const component = unique();
  const beacon = client(server.worker, {
    beforeSend: (_kind, body) => (body.action === 'secret' ? null : { ...body, properties: { scrubbed: true } }),
  });
  beacon.track(component, 'secret');
  beacon.track(component, 'public');
  assert.equal(await beacon.flush(10_000), true);
  const rows = await exported(component);
  assert.deepEqual(rows.map((r) => r.action), ['public']);
  assert.match(rows[0]?.properties ?? '', /"scrubbed":true/);
  assert.equal(beacon.stats().filtered, 1);
  await beacon.close(1000);
});

test('a large backlog goes in batches within the limits', async () => {
  await resetProxy();
  const component = unique();
  const beacon = client(server.proxy, { maxBatchBytes: 64 * 1024 });
  const padding = 'p'.repeat(1000);
  for (let i = 0; i < 300; i++) beacon.track(component, 'bulk', { i, padding });
  assert.equal(await beacon.flush(20_000), true);
  const batches = await proxyLog(BATCH);
  assert.ok(batches.length > 1 && batches.every((b) => b.status === 200));
  assert.equal(batches.reduce((n, b) => n + b.ids.length, 0), 300);
  assert.equal(await actions(component), 300);
  await beacon.close(1000);
});

test('configureTracing sends spans to Beacon with the token', async () => {
  await resetProxy();
  const provider = configureTracing(`${server.proxy}/`, server.member_token, { register: false, batch: false });
  provider.getTracer('t').startSpan('exported').end();
  // Until the receiver exists the export is answered 404, which forceFlush reports.
  await provider.forceFlush().catch(() => undefined);
  const [exportRequest] = await proxyLog('/api/otlp/v1/traces');
  assert.ok(exportRequest, 'no export reached /api/otlp/v1/traces');
  assert.equal(exportRequest.method, 'POST');
  assert.equal(exportRequest.authorization, `Bearer ${server.member_token}`);
  assert.equal(tracesEndpoint('https://b.example/'), 'https://b.example/api/otlp/v1/traces');
  await provider.shutdown();
});

test('configureTracing sends a span that the Traces API shows', async (t) => {
  const probe = await fetch(`${server.worker}/api/otlp/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.member_token}` },
    body: '{}',
  });
  if (probe.status === 404) {
    t.skip('POST /api/otlp/v1/traces answers 404: the OTLP receiver (the Traces issue) is not on this server yet');
    return;
  }
  const service = `ts-agent-${randomUUID().slice(0, 8)}`;
  const provider = configureTracing(server.worker, server.member_token, { serviceName: service, register: false, batch: false });
  const span = provider.getTracer('beacon-sdk-tests').startSpan('chat gpt-4o-mini', {
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 12,
      'gen_ai.usage.output_tokens': 5,
    },
  });
  const traceId = span.spanContext().traceId;
  span.end();
  await provider.forceFlush();
  /** @type {any} */
  let found;
  await waitFor(async () => {
    const res = await fetch(`${server.worker}/api/traces/${traceId}`, { headers: { authorization: `Bearer ${server.member_token}` } });
    if (res.status === 200) found = await res.json();
    return found !== undefined;
  });
  assert.ok(found, `trace ${traceId} never showed in /api/traces/${traceId}`);
  assert.equal(found.service, service);
  assert.deepEqual(found.spans.map((/** @type {any} */ s) => s.name), ['chat gpt-4o-mini']);
  await provider.shutdown();
});

test('a sample rate of zero records nothing', async () => {
  const provider = configureTracing('http://127.0.0.1:9', 'token', { sampleRate: 0, register: false });
  const span = provider.getTracer('t').startSpan('never');
  assert.equal(span.isRecording(), false);
  span.end();
  await provider.shutdown();
});

test('gateway base URLs fit the providers’ clients', () => {
  assert.equal(gatewayBaseURL('https://b.example/', 'openai'), 'https://b.example/api/gateway/openai/v1');
  assert.equal(gatewayBaseURL('https://b.example', 'anthropic'), 'https://b.example/api/gateway/anthropic');
  const beacon = new Beacon('https://b.example', 'tok', { flushAtExit: false });
  assert.equal(beacon.gatewayBaseURL('openai'), 'https://b.example/api/gateway/openai/v1');
  assert.throws(() => beacon.gatewayBaseURL(/** @type {any} */ ('gemini')), TypeError);
  assert.deepEqual(beacon.gatewayHeaders({ agent: 'planner', keyId: 'k1', fallbackKeyId: 'k2', cacheTtl: 60 }), {
    'x-beacon-agent': 'planner',
    'x-beacon-key': 'k1',
    'x-beacon-fallback-key': 'k2',
    'x-beacon-cache-ttl': '60',
  });
  assert.deepEqual(gatewayHeaders(), {});
});
