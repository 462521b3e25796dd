// @ts-check
// Steps a person takes in the app, shared by the tests: waiting for a page to settle, signing
// up through the form, counting a table's rows, and checking that no error state shows.

import assert from 'node:assert/strict';

/**
 * Waits until the page has drawn: its heading is up and nothing says "Loading…".
 * @param {import('playwright-core').Page} page
 */
export async function settle(page) {
  // Generous: on a shared 2-core machine a local Worker has been seen to stall for 20 s.
  await page.waitForSelector('main h1, .auth-card h1', { timeout: 45_000 });
  await page.waitForFunction(() => !document.querySelector('.state.loading, [data-preview="loading"]'), null, { timeout: 45_000 });
}

/**
 * @param {import('playwright-core').Page} page
 * @param {string} path
 */
export async function visit(page, path) {
  await page.goto(path);
  await settle(page);
}

/**
 * @param {import('playwright-core').Page} page
 * @param {{name: string, email: string, password: string, team: string}} who
 */
export async function signUp(page, who) {
  await visit(page, '/sign-up');
  await page.fill('#name', who.name);
  await page.fill('#email', who.email);
  await page.fill('#password', who.password);
  await page.fill('#team_name', who.team);
  await page.click('button[type=submit]');
  await page.waitForURL('**/analytics');
  await settle(page);
}

/**
 * How many table rows the page shows (a fresh team must see none).
 * @param {import('playwright-core').Page} page
 */
export async function tableRows(page) {
  return page.locator('main tbody tr').count();
}

/**
 * @param {import('playwright-core').Page} page
 */
export async function assertNoErrorState(page) {
  const errors = await page.locator('[data-state="error"]').allTextContents();
  assert.deepEqual(errors, [], `the page shows an error: ${errors.join(' | ')}`);
}
