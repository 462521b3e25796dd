// Event ids: UUIDv7 (RFC 9562) — 48 bits of epoch milliseconds, then random bits — so the
// server's rows stay in time order and a retried batch carries the same ids.

const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i + 0x100).toString(16).slice(1));

/** Fills `bytes` with random values: WebCrypto where there is one (browsers, Workers, Node 19+). */
export function randomBytes(bytes: Uint8Array): void {
  const webCrypto = (globalThis as { crypto?: { getRandomValues?: (b: Uint8Array) => Uint8Array } }).crypto;
  if (webCrypto?.getRandomValues) {
    for (let offset = 0; offset < bytes.length; offset += 65536) {
      webCrypto.getRandomValues(bytes.subarray(offset, Math.min(bytes.length, offset + 65536)));
    }
    return;
  }
  // Node 18 without the global WebCrypto: good enough for ids that only need to be unique.
  for (let i = 0; i < bytes.length; i++) bytes[i] = (Math.random() * 256) | 0;
}

/** A UUIDv7 for epoch milliseconds `ms`, with 10 random bytes from `random` at `offset`. */
export function uuid7(ms: number, random: Uint8Array, offset: number): string {
  const hi = Math.floor(ms / 0x1000000) & 0xffffff;
  const lo = ms % 0x1000000;
  const r = (i: number): number => random[offset + i] ?? 0;
  return (
    HEX[(hi >>> 16) & 0xff]! +
    HEX[(hi >>> 8) & 0xff]! +
    HEX[hi & 0xff]! +
    HEX[(lo >>> 16) & 0xff]! +
    '-' +
    HEX[(lo >>> 8) & 0xff]! +
    HEX[lo & 0xff]! +
    '-' +
    HEX[0x70 | (r(0) & 0x0f)]! +
    HEX[r(1)]! +
    '-' +
    HEX[0x80 | (r(2) & 0x3f)]! +
    HEX[r(3)]! +
    '-' +
    HEX[r(4)]! +
    HEX[r(5)]! +
    HEX[r(6)]! +
    HEX[r(7)]! +
    HEX[r(8)]! +
    HEX[r(9)]!
  );
}
