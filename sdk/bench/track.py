"""What `Beacon.track()` costs the caller (target: at most 5 µs), and whether 50,000 events/s
from one process keep memory flat. Runs the client from sdk/python/src against a local sink
that answers every batch at once (sink.mjs), so the background sender really sends while the
caller tracks. `make bench-sdk`; no Beacon server needed."""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python" / "src"))

from beacon_sdk import Beacon  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def per_call_ns(beacon: Beacon, n: int, properties: bool, sender_idle: bool) -> float:
    """Mean ns per call. With `sender_idle`, calls go in slices of 400 (under a batch) and the
    client is flushed between slices, outside the timing: the call alone. Otherwise one tight
    loop, during which the sender thread encodes and sends and contends for the GIL."""
    props = {"plan": "pro", "step": 3, "ok": True}
    track = beacon.track
    slice_size = 400 if sender_idle else n
    spent = 0
    for _ in range(n // slice_size):
        start = time.perf_counter_ns()
        if properties:
            for i in range(slice_size):
                track("checkout", "clicked", props)
        else:
            for i in range(slice_size):
                track("checkout", "clicked")
        spent += time.perf_counter_ns() - start
        if sender_idle:
            beacon.flush(30)
    return spent / n


def main() -> None:
    sink = subprocess.Popen(["node", str(HERE / "sink.mjs")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert sink.stdout is not None
    url = f"http://127.0.0.1:{sink.stdout.readline().strip()}"
    try:
        beacon = Beacon(url, "bench", flush_interval=3600, flush_at_exit=False)
        per_call_ns(beacon, 20_000, False, True)  # warm up
        rows = []
        for label, props, idle in (
            ("track(component, action)", False, True),
            ("track(component, action, {3 properties})", True, True),
            ("the same, while the sender works flat out", True, False),
        ):
            runs = [per_call_ns(beacon, 40_000, props, idle) for _ in range(5)]
            rows.append((label, statistics.median(runs), min(runs)))
        beacon.flush(30)
        beacon.close(5)
        print(f"Python {sys.version.split()[0]}, beacon_sdk from sdk/python/src, against a local sink")
        for label, median, best in rows:
            print(f"  {label:<44} median {median / 1000:.2f} µs/call (best {best / 1000:.2f}; target ≤ 5 µs)")

        # Sustained: 50,000 events/s for 5 s, paced in 1 ms steps, with the default options.
        beacon = Beacon(url, "bench", flush_at_exit=False)
        gc.collect()
        before = rss_mib()
        cpu = time.process_time()
        rate, seconds = 50_000, 5
        start = time.perf_counter()
        sent = 0
        while sent < rate * seconds:
            due = int((time.perf_counter() - start) * rate)
            while sent < min(due, rate * seconds):
                beacon.track("load", "event", {"i": sent})
                sent += 1
            time.sleep(0.0005)
        elapsed = time.perf_counter() - start
        beacon.flush(30)
        cpu = time.process_time() - cpu
        stats = beacon.stats()
        print(
            f"  sustained {sent:,} events in {elapsed:.1f} s ({sent / elapsed:,.0f}/s): delivered {stats.sent:,}, "
            f"dropped {stats.dropped:,}; CPU {cpu / sent * 1e6:.1f} µs per event, both threads, all in; "
            f"RSS {before:.1f} → {rss_mib():.1f} MiB"
        )
        beacon.close(5)
    finally:
        assert sink.stdin is not None
        sink.stdin.close()
        sink.wait(5)


if __name__ == "__main__":
    main()
