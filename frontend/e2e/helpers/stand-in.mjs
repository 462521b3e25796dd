// @ts-check
// A stand-in LLM provider and web hook, as a small local HTTP server speaking the OpenAI wire
// format: GET /v1/models (the key test) and POST /v1/chat/completions (answers with usage that
// includes cached and reasoning tokens), plus POST /hook for HTTP steps. One key is accepted;
// others get the 401 OpenAI gives. The model `standin-500` always fails with a 500, so a test
// can make a run fail on purpose.

import { createServer } from 'node:http';

export const VALID_KEY = 'sk-standin-openai-VALID-7f3a9c';
export const USAGE = { prompt_tokens: 1200, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 1000 }, completion_tokens_details: { reasoning_tokens: 50 } };

/** @param {import('node:http').IncomingMessage} req */
function readBody(req) {
  return new Promise((ok) => {
    /** @type {Buffer[]} */
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
  });
}

export async function startStandIn() {
  /** @type {{method: string, path: string, body: string}[]} */
  const requests = [];
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    requests.push({ method: req.method ?? '', path: req.url ?? '', body });
    const send = (/** @type {number} */ status, /** @type {unknown} */ json) => {
      // No kept-alive connections: the Worker could send its next call on one this server is just
      // closing as idle (Node's 5 s keep-alive timeout), and that call fail as a network error.
      res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify(json));
    };
    const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    const refused = () => send(401, { error: { message: `Incorrect API key provided: ${key}.`, type: 'invalid_request_error', code: 'invalid_api_key' } });
    if (req.method === 'GET' && req.url === '/v1/models') {
      return key === VALID_KEY ? send(200, { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', owned_by: 'standin' }] }) : refused();
    }
    if (req.method === 'POST' && req.url === '/v1/chat/completions') {
      if (key !== VALID_KEY) return refused();
      /** @type {{model?: string, messages?: {content: string}[]}} */
      let parsed = {};
      try {
        parsed = JSON.parse(body);
      } catch {
        return send(400, { error: { message: 'invalid JSON' } });
      }
      if (parsed.model === 'standin-500') return send(500, { error: { message: 'The stand-in failed on purpose.', type: 'server_error' } });
      const prompt = parsed.messages?.at(-1)?.content ?? '';
      return send(200, {
        id: `chatcmpl-${requests.length}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: parsed.model,
        choices: [{ index: 0, message: { role: 'assistant', content: `Stand-in answer to: ${prompt}` }, finish_reason: 'stop' }],
        usage: { ...USAGE, total_tokens: USAGE.prompt_tokens + USAGE.completion_tokens },
      });
    }
    if (req.url === '/hook') return send(200, { ok: true, received: body.length });
    send(404, { error: { message: 'not found' } });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(undefined)));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    stop: () => new Promise((ok) => server.close(() => ok(undefined))),
  };
}
