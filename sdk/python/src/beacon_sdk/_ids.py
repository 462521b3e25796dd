"""Event ids: UUIDv7 (RFC 9562), so the server's rows stay in time order."""

from __future__ import annotations

import os
from typing import List

# The variant nibble (binary 10xx) from a random hex digit.
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def uuid7s(timestamps_ms: List[int]) -> List[str]:
    """One UUIDv7 per epoch-millisecond timestamp: 48 bits of time, the version, then 74 random
    bits. The randomness of a whole batch is drawn at once; hex slicing keeps it cheap, since
    the sender's time is taken from the threads that track."""
    random_hex = os.urandom(10 * len(timestamps_ms)).hex()
    ids: List[str] = []
    last_ms = -1
    prefix = ""
    for i, ms in enumerate(timestamps_ms):
        if ms != last_ms:
            t = "%012x" % (ms & 0xFFFF_FFFF_FFFF)
            prefix = f"{t[:8]}-{t[8:]}-7"
            last_ms = ms
        r = random_hex[i * 20 : i * 20 + 19]
        ids.append(f"{prefix}{r[:3]}-{_VARIANT[r[3]]}{r[4:7]}-{r[7:19]}")
    return ids
