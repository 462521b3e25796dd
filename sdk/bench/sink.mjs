// A stand-in for Beacon's ingest for the SDK micro-benchmarks: answers every batch at once as
// if it stored all of it, so what the benchmarks measure is the client. Prints its port.
import { createServer } from 'node:http';

let events = 0;
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.url === '/__sink/count') {
      res.end(JSON.stringify({ events }));
      return;
    }
    const body = Buffer.concat(chunks).toString('utf8');
    const n = body.split('"id":').length - 1;
    events += n;
    res.writeHead(req.url === '/api/telemetry/batch' ? 200 : 202, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ accepted: n, duplicates: 0, rejected: [] }));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`${typeof addr === 'object' && addr ? addr.port : 0}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
