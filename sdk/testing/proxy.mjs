// @ts-check
// A fault-injecting HTTP proxy for the SDK tests: it stands between an SDK and the real Worker and
// passes every request through, except those a test asked it to spoil. The faults are what a
// client meets on the internet: an error status (with or without `Retry-After`), an answer lost
// after the server stored the request (the retry must then be stored once), a server that never
// answers.
//
// Control, on the proxy itself (never forwarded):
//   POST /__proxy/faults {path, mode, status?, retry_after?, times?}   queue a fault for `path`
//        mode: "status"              answer `status` without forwarding
//              "forward-then-status" forward (the Worker stores it), then answer `status` instead
//              "hang"                hold the request open, never answer
//   GET  /__proxy/log      every proxied request: {method, path, at, mode, status, ids,
//                          authorization, content_type}
//   POST /__proxy/reset    forget the faults and the log, and drop held requests

import { createServer } from 'node:http';

/**
 * @typedef {{path: string, mode: 'status' | 'forward-then-status' | 'hang', status?: number, retry_after?: string, times?: number}} Fault
 * @typedef {{method: string, path: string, at: number, mode: string, status: number | null, ids: string[] | null, authorization: string | null, content_type: string | null}} Entry
 */

/** Event ids in a batch body, so a test can see that a retry carried the same ones. */
function batchIds(/** @type {Buffer} */ body) {
  try {
    const parsed = JSON.parse(body.toString('utf8'));
    return Array.isArray(parsed.events) ? parsed.events.map((/** @type {any} */ e) => e.id ?? null) : null;
  } catch {
    return null;
  }
}

const HOP_BY_HOP = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade']);

/**
 * @param {string} target the Worker's origin, e.g. http://127.0.0.1:8787
 * @returns {Promise<{address: string, close: () => Promise<void>}>}
 */
export async function startProxy(target) {
  /** @type {Fault[]} */
  let faults = [];
  /** @type {Entry[]} */
  let log = [];
  /** @type {Set<import('node:http').ServerResponse>} */
  const held = new Set();

  const dropHeld = () => {
    for (const res of held) res.socket?.destroy();
    held.clear();
  };

  /** @param {string} path */
  const takeFault = (path) => {
    const index = faults.findIndex((f) => f.path === path);
    if (index < 0) return undefined;
    const fault = /** @type {Fault} */ (faults[index]);
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) faults.splice(index, 1);
    return fault;
  };

  /**
   * @param {import('node:http').ServerResponse} res
   * @param {Fault} fault
   */
  const spoil = (res, fault) => {
    /** @type {Record<string, string>} */
    const headers = { 'content-type': 'application/json' };
    if (fault.retry_after !== undefined) headers['retry-after'] = String(fault.retry_after);
    res.writeHead(fault.status ?? 503, headers);
    res.end(JSON.stringify({ error: { code: 'injected', message: `fault injected by the test proxy (${fault.mode})` } }));
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    /** @type {Buffer[]} */
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks);

    if (url.pathname.startsWith('/__proxy/')) {
      res.setHeader('content-type', 'application/json');
      if (url.pathname === '/__proxy/faults' && req.method === 'POST') {
        faults.push(JSON.parse(body.toString('utf8')));
        res.end('{}');
      } else if (url.pathname === '/__proxy/log') {
        res.end(JSON.stringify(log));
      } else if (url.pathname === '/__proxy/reset' && req.method === 'POST') {
        faults = [];
        log = [];
        dropHeld();
        res.end('{}');
      } else {
        res.writeHead(404);
        res.end('{}');
      }
      return;
    }

    const fault = takeFault(url.pathname);
    /** @type {Entry} */
    const entry = {
      method: req.method ?? 'GET',
      path: url.pathname,
      at: Date.now(),
      mode: fault?.mode ?? 'pass',
      status: null,
      ids: url.pathname === '/api/telemetry/batch' ? batchIds(body) : null,
      authorization: req.headers.authorization ?? null,
      content_type: req.headers['content-type'] ?? null,
    };
    log.push(entry);

    if (fault?.mode === 'hang') {
      held.add(res);
      res.on('close', () => held.delete(res));
      return;
    }
    if (fault?.mode === 'status') {
      entry.status = fault.status ?? 503;
      spoil(res, fault);
      return;
    }
    /** @type {Record<string, string>} */
    const headers = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!HOP_BY_HOP.has(name) && typeof value === 'string') headers[name] = value;
    }
    try {
      const upstream = await fetch(target + (req.url ?? '/'), {
        method: req.method,
        headers,
        body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
      });
      const answer = Buffer.from(await upstream.arrayBuffer());
      if (fault) {
        entry.status = fault.status ?? 503;
        spoil(res, fault);
        return;
      }
      entry.status = upstream.status;
      /** @type {Record<string, string>} */
      const out = {};
      for (const name of ['content-type', 'retry-after', 'set-cookie']) {
        const value = upstream.headers.get(name);
        if (value !== null) out[name] = value;
      }
      res.writeHead(upstream.status, out);
      res.end(answer);
    } catch (err) {
      entry.status = 502;
      res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`proxy: ${err}`);
    }
  });

  await new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(undefined)));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    address: `http://127.0.0.1:${port}`,
    close: async () => {
      dropHeld();
      server.closeAllConnections();
      await new Promise((ok) => server.close(() => ok(undefined)));
    },
  };
}
