// @ts-check
// Debian's Chromium driven by playwright-core (never a browser a test tool downloads), with the
// flags that keep it off the network, and screenshots into one folder per run.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const LAPTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

/** A fresh browser; playwright gives it a new, empty profile directory of its own. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A new context (cookies and cache of its own) on the app. Its waits get 45 s, as `settle`'s do:
 * wrangler dev on a busy 2-core machine has been seen to hold a request for 30 s.
 * @param {import('playwright-core').Browser} browser
 * @param {string} baseURL
 * @param {{width: number, height: number}} [viewport]
 */
export async function newContext(browser, baseURL, viewport = LAPTOP) {
  const ctx = await browser.newContext({ baseURL, viewport });
  ctx.setDefaultTimeout(45_000);
  return ctx;
}

/**
 * Saves full-page screenshots as NN-name.png in `dir`.
 * @param {string} dir
 */
export function screenshotter(dir) {
  mkdirSync(dir, { recursive: true });
  let n = 0;
  return async (/** @type {import('playwright-core').Page} */ page, /** @type {string} */ name) => {
    n += 1;
    const file = join(dir, `${String(n).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
}
