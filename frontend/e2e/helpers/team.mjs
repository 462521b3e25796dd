// @ts-check
// A team of its own for each browser test, and what the test needs before it starts, made
// through the JSON API rather than through another test's clicks: sign-up, a provider key at the
// stand-in, workflows, runs waited to their end, a schedule, an invited member. A test reads its
// own page alone, so it can run alone (`--test-name-pattern`) or beside the others.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { LAPTOP, newContext } from './browser.mjs';
import { VALID_KEY } from './stand-in.mjs';

/** @typedef {import('playwright-core').APIRequestContext} Api */
/** @typedef {import('playwright-core').APIResponse} Response */
/** @typedef {{name: string, email: string, password: string, team: string}} Person */

export const SUMMARISE = 'Summarise a topic';
const TERMINAL = ['succeeded', 'failed', 'cancelled', 'timed_out'];
/**
 * A request on a kept-alive connection the server closed while it sat idle fails with ECONNRESET
 * before it reaches the Worker; it is sent again (runs carry an Idempotency-Key, so a repeat
 * cannot start a second one).
 */
export const RETRY = { maxRetries: 2 };

/** Someone who signs up: a fresh email and team name on every call. */
export function newOwner() {
  const id = randomUUID().slice(0, 8);
  return { name: 'Olive Owner', email: `olive-${id}@example.test`, password: 'correct horse battery', team: `Lighthouse ${id}` };
}

/** Someone to invite: a fresh email on every call. */
export function newMember() {
  const id = randomUUID().slice(0, 8);
  return { name: 'Max Member', email: `max-${id}@example.test`, password: 'member password 1', team: '' };
}

/**
 * The response's JSON body when it has the status expected; else a failure that shows the body.
 * @param {Response} res
 * @param {number} status
 * @param {string} what
 */
async function body(res, status, what) {
  if (res.status() !== status) assert.fail(`${what}: HTTP ${res.status()} ${await res.text()}`);
  return res.json();
}

/**
 * Signs up a new team through the API in a new browser context: the context's cookies then hold
 * the owner's session, for its pages and for `api` alike.
 * @param {import('playwright-core').Browser} browser
 * @param {string} address
 * @param {{viewport?: {width: number, height: number}}} [options]
 */
export async function signUpTeam(browser, address, { viewport = LAPTOP } = {}) {
  const who = newOwner();
  const ctx = await newContext(browser, address, viewport);
  const data = { email: who.email, password: who.password, name: who.name, team_name: who.team };
  await body(await ctx.request.post('/api/auth/signup', { data, ...RETRY }), 201, 'sign-up');
  return { ctx, page: await ctx.newPage(), api: ctx.request, who };
}

/**
 * A provider key at the stand-in (OpenAI-compatible), with the secret it accepts.
 * @param {Api} api
 * @param {string} standInUrl
 * @returns {Promise<string>} the key's id
 */
export async function addKey(api, standInUrl) {
  const data = { name: 'Stand-in OpenAI', service: 'openai_compatible', key: VALID_KEY, base_url: standInUrl };
  return (await body(await api.post('/api/keys', { data, ...RETRY }), 201, 'add key')).id;
}

/**
 * "Summarise a topic": asks the model about `input.topic`, then posts the answer to the stand-in's
 * hook — the workflow the workflow test builds through the editor.
 * @param {Api} api
 * @param {string} keyId
 * @param {string} standInUrl
 * @returns {Promise<string>} the workflow's id
 */
export async function addSummariseWorkflow(api, keyId, standInUrl) {
  const data = {
    name: SUMMARISE,
    description: 'Asks the model, then posts the answer to a hook.',
    steps: [
      { id: 'summarise', kind: 'llm', agent: 'writer', key_id: keyId, model: 'gpt-4o-mini', prompt: 'Summarise {{input.topic}} in one line.' },
      { id: 'notify', kind: 'http', method: 'POST', url: `${standInUrl}/hook`, body: '{{steps.summarise.output}}' },
    ],
  };
  return (await body(await api.post('/api/workflows', { data, ...RETRY }), 201, 'create workflow')).id;
}

/**
 * "Always fails": its model is one the stand-in always answers with a 500.
 * @param {Api} api
 * @param {string} keyId
 * @returns {Promise<string>} the workflow's id
 */
export async function addFailingWorkflow(api, keyId) {
  const data = { name: 'Always fails', steps: [{ id: 'boom', kind: 'llm', agent: 'tester', key_id: keyId, model: 'standin-500', prompt: 'fail' }] };
  return (await body(await api.post('/api/workflows', { data, ...RETRY }), 201, 'create workflow')).id;
}

/**
 * Starts a run and returns its id at once.
 * @param {Api} api
 * @param {string} workflowId
 * @param {Record<string, unknown>} [input]
 * @returns {Promise<string>}
 */
export async function startRun(api, workflowId, input = {}) {
  return (await body(await api.post(`/api/workflows/${workflowId}/execute`, { data: { input }, headers: { 'idempotency-key': randomUUID() }, ...RETRY }), 202, 'execute')).execution_id;
}

/**
 * Waits for a run to end, and checks how.
 * @param {Api} api
 * @param {string} executionId
 * @param {string} status the status it must end in
 */
export async function runEnds(api, executionId, status) {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const execution = await body(await api.get(`/api/executions/${executionId}`, RETRY), 200, 'read execution');
    if (TERMINAL.includes(execution.status)) {
      assert.equal(execution.status, status, `run ${executionId} ended ${execution.status}: ${JSON.stringify(execution.error)}`);
      return execution;
    }
    assert.ok(Date.now() < deadline, `run ${executionId} is still ${execution.status} after 90 s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Runs a workflow to its end.
 * @param {Api} api
 * @param {string} workflowId
 * @param {Record<string, unknown>} input
 * @param {string} status the status it must end in
 * @returns {Promise<string>} the execution's id
 */
export async function run(api, workflowId, input, status) {
  const id = await startRun(api, workflowId, input);
  await runEnds(api, id, status);
  return id;
}

/**
 * An enabled schedule for weekdays at 09:30 in Paris.
 * @param {Api} api
 * @param {string} workflowId
 * @returns {Promise<string>} the schedule's id
 */
export async function addSchedule(api, workflowId) {
  const data = { workflow_id: workflowId, cron: '30 9 * * mon-fri', timezone: 'Europe/Paris', enabled: true, input: { topic: 'mornings' }, overlap: 'skip' };
  return (await body(await api.post('/api/schedules', { data, ...RETRY }), 201, 'create schedule')).id;
}

/**
 * @param {Api} api
 * @param {string} email
 * @param {string} role
 * @returns {Promise<string>} the invite link
 */
export async function invite(api, email, role) {
  return (await body(await api.post('/api/team/invites', { data: { email, role }, ...RETRY }), 201, 'invite')).invite_url;
}

/**
 * Accepts an invite through the API in a new browser context, signed in as the new member.
 * @param {import('playwright-core').Browser} browser
 * @param {string} address
 * @param {string} inviteUrl
 * @param {Person} who
 */
export async function joinTeam(browser, address, inviteUrl, who) {
  const token = new URL(inviteUrl).searchParams.get('token');
  const ctx = await newContext(browser, address);
  await body(await ctx.request.post('/api/auth/accept-invite', { data: { token, name: who.name, password: who.password }, ...RETRY }), 200, 'accept invite');
  return { ctx, page: await ctx.newPage() };
}
