"""Event ids: UUIDv7 (RFC 9562), so the server's rows stay in time order."""

from __future__ import annotations

import os


def uuid7(ms: int) -> str:
    """A UUIDv7 for epoch milliseconds `ms`: 48 bits of time, then 74 random bits."""
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (ms & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | (rand >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | rand & 0x3FFF_FFFF_FFFF_FFFF
    )
    h = "%032x" % value
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
