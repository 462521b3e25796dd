// What `Beacon.track()` costs the caller (target: at most 2 µs), and whether 50,000 events/s
// from one process keep memory flat. Runs the built client (sdk/typescript/dist) against a
// local sink that answers every batch at once (sink.mjs), so the client really sends while the
// caller tracks. `make bench-sdk`; no Beacon server needed.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const { Beacon } = await import(join(HERE, '../typescript/dist/index.js'));

const sink = spawn(process.execPath, [join(HERE, 'sink.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
const port = await new Promise((resolve) => createInterface({ input: sink.stdout }).once('line', resolve));
const url = `http://127.0.0.1:${port}`;

const yieldToLoop = () => new Promise((r) => setImmediate(r));
const props = { plan: 'pro', step: 3, ok: true };

/** Mean ns per call over `n` calls, in slices of 1,000 with the event loop turning in between
 * (as in a real program): the sends happen between the slices, on the same thread, and are not
 * timed here — the sustained run below counts them (CPU per event, all in). */
async function perCall(beacon, n, withProps) {
  let spent = 0n;
  for (let done = 0; done < n; done += 1000) {
    const start = process.hrtime.bigint();
    if (withProps) for (let i = 0; i < 1000; i++) beacon.track('checkout', 'clicked', props);
    else for (let i = 0; i < 1000; i++) beacon.track('checkout', 'clicked');
    spent += process.hrtime.bigint() - start;
    await yieldToLoop();
  }
  return Number(spent) / n;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const beacon = new Beacon(url, 'bench', { flushAtExit: false });
await perCall(beacon, 50_000, false); // warm up
const rows = [];
for (const [label, withProps] of [
  ['track(component, action)', false],
  ['track(component, action, {3 properties})', true],
]) {
  const runs = [];
  for (let r = 0; r < 5; r++) runs.push(await perCall(beacon, 200_000, withProps));
  rows.push([label, median(runs), Math.min(...runs)]);
}
await beacon.flush(30_000);
console.log(`Node ${process.version}, @beacon/sdk from sdk/typescript/dist, sending to a local sink`);
for (const [label, med, best] of rows) {
  console.log(`  ${label.padEnd(44)} median ${(med / 1000).toFixed(3)} µs/call (best ${(best / 1000).toFixed(3)}; target ≤ 2 µs)`);
}

// Sustained: 50,000 events/s for 5 s, in 1 ms steps.
globalThis.gc?.();
const before = process.memoryUsage();
const stats0 = beacon.stats();
const cpu0 = process.cpuUsage();
const rate = 50_000;
const seconds = 5;
const start = performance.now();
let sent = 0;
while (sent < rate * seconds) {
  const due = Math.min(Math.floor(((performance.now() - start) / 1000) * rate), rate * seconds);
  while (sent < due) beacon.track('load', 'event', { i: sent++ });
  await new Promise((r) => setTimeout(r, 1));
}
const elapsed = (performance.now() - start) / 1000;
await beacon.flush(30_000);
const stats = beacon.stats();
const cpu = process.cpuUsage(cpu0);
const after = process.memoryUsage();
const mib = (b) => (b / 2 ** 20).toFixed(1);
console.log(
  `  sustained ${sent.toLocaleString('en')} events in ${elapsed.toFixed(1)} s (${Math.round(sent / elapsed).toLocaleString('en')}/s): ` +
    `delivered ${(stats.sent - stats0.sent).toLocaleString('en')}, dropped ${(stats.dropped - stats0.dropped).toLocaleString('en')}; ` +
    `CPU ${((cpu.user + cpu.system) / sent).toFixed(1)} µs per event, all in; RSS ${mib(before.rss)} → ${mib(after.rss)} MiB, heap ${mib(before.heapUsed)} → ${mib(after.heapUsed)} MiB`,
);
await beacon.close(5000);
sink.stdin.end();
