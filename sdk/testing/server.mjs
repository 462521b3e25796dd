// @ts-check
// The SDK tests' Beacon: the real Worker under `wrangler dev` (started by the browser tests'
// helper: a fresh --persist-to with the migrations applied), the fault-injecting proxy in front of
// it, and a team signed up for the suite with two access tokens (member and viewer).
//
// From node: `await startBeacon(runDir)`. From any other language: `node sdk/testing/server.mjs
// <runDir>` prints one JSON line — {worker, proxy, member_token, viewer_token, team_id} — and
// keeps everything up until its standard input closes (or it gets SIGTERM / SIGINT).

import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorker } from '../../frontend/e2e/helpers/server.mjs';
import { startProxy } from './proxy.mjs';

/**
 * @param {string} worker
 * @param {string} path
 * @param {unknown} body
 * @param {string} [cookie]
 */
async function post(worker, path, body, cookie) {
  /** @type {Record<string, string>} */
  const headers = { 'content-type': 'application/json', origin: worker };
  if (cookie) headers.cookie = cookie;
  const res = await fetch(worker + path, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
  return { res, json: JSON.parse(text) };
}

/**
 * Signs up a team and creates a member and a viewer access token with the owner's session.
 * @param {string} worker
 */
export async function signUpTeam(worker) {
  const unique = randomUUID().slice(0, 8);
  const signup = await post(worker, '/api/auth/signup', {
    email: `sdk-${unique}@example.com`,
    password: `correct horse battery staple ${unique}`,
    name: 'SDK tests',
    team_name: `SDK tests ${unique}`,
  });
  const setCookie = signup.res.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0] ?? '';
  if (!cookie.startsWith('beacon_session=')) throw new Error(`signup set no session cookie: ${setCookie}`);
  const member = await post(worker, '/api/access-tokens', { name: `sdk member ${unique}`, role: 'member' }, cookie);
  const viewer = await post(worker, '/api/access-tokens', { name: `sdk viewer ${unique}`, role: 'viewer' }, cookie);
  return {
    team_id: /** @type {string} */ (signup.json.team.id),
    member_token: /** @type {string} */ (member.json.token),
    viewer_token: /** @type {string} */ (viewer.json.token),
  };
}

/**
 * @param {string} runDir where wrangler's state and log go
 */
export async function startBeacon(runDir) {
  mkdirSync(runDir, { recursive: true });
  const worker = await startWorker(runDir);
  let proxy;
  try {
    proxy = await startProxy(worker.address);
    const team = await signUpTeam(worker.address);
    const info = { worker: worker.address, proxy: proxy.address, log: worker.logPath, ...team };
    const running = /** @type {{close: () => Promise<void>}} */ (proxy);
    return {
      ...info,
      info,
      stop: async () => {
        await running.close();
        await worker.stop();
      },
    };
  } catch (err) {
    await proxy?.close();
    await worker.stop();
    throw err;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const runDir = resolve(process.argv[2] ?? `target/sdk/server-${Date.now()}`);
  const beacon = await startBeacon(runDir);
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await beacon.stop();
    process.exit(0);
  };
  process.stdout.write(`${JSON.stringify(beacon.info)}\n`);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
