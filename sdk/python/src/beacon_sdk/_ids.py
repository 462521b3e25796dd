"""Event ids: UUIDv7 (RFC 9562), so the server's rows stay in time order."""

from __future__ import annotations


def uuid7(ms: int, random: bytes, offset: int = 0) -> str:
    """A UUIDv7 for epoch milliseconds `ms`: 48 bits of time, the version, then 74 bits from the
    10 random bytes of `random` at `offset` (the sender draws them for a whole batch at once)."""
    r = random
    raw = (ms & 0xFFFF_FFFF_FFFF).to_bytes(6, "big") + bytes(
        (0x70 | r[offset] & 0x0F, r[offset + 1], 0x80 | r[offset + 2] & 0x3F)
    ) + r[offset + 3 : offset + 10]
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
