"""The client against the real Worker: what arrives, how often, and what happens when the network
or the server misbehaves (through the fault-injecting proxy)."""

from __future__ import annotations

import subprocess
import textwrap
import time
from typing import List

from beacon_sdk import Beacon, DeliveryError

from conftest import Server, wait_for

BATCH = "/api/telemetry/batch"


def test_tracked_events_arrive_and_are_counted_once(server: Server, component: str) -> None:
    beacon = Beacon(server.worker, server.member_token, flush_at_exit=False)
    for i in range(120):
        beacon.track(component, "clicked", {"i": i}, user_id="user-1", session_id="session-1")
    assert beacon.flush(10.0)
    stats = beacon.stats()
    assert (stats.sent, stats.duplicates, stats.queued, stats.failed) == (120, 0, 0, 0)
    assert server.actions(component) == 120
    rows = server.exported(component)
    assert len({row["id"] for row in rows}) == 120
    assert {row["user_id"] for row in rows} == {"user-1"}
    assert beacon.close(1.0)


def test_events_are_sent_in_the_background_without_flush(server: Server, component: str) -> None:
    beacon = Beacon(server.worker, server.member_token, flush_interval=0.2, flush_at_exit=False)
    beacon.track(component, "opened")
    assert wait_for(lambda: server.actions(component) == 1, timeout=10)
    beacon.close(1.0)


def test_a_batch_retried_after_a_503_is_stored_once(server: Server, component: str) -> None:
    # The proxy lets the Worker store the batch, then answers 503: the client never learns it
    # was stored, and sends the same batch again.
    server.fault(BATCH, "forward-then-status", status=503)
    beacon = Beacon(server.proxy, server.member_token, retry_base=0.05, flush_at_exit=False)
    for i in range(40):
        beacon.track(component, "retried", {"i": i})
    assert beacon.flush(10.0)
    batches = server.proxy_log(BATCH)
    assert [b["status"] for b in batches] == [503, 200]
    assert batches[0]["ids"] == batches[1]["ids"], "the retry must carry the same event ids"
    stats = beacon.stats()
    assert (stats.sent, stats.duplicates, stats.retries) == (0, 40, 1)
    assert server.actions(component) == 40
    beacon.close(1.0)


def test_retry_after_is_honoured(server: Server, component: str) -> None:
    server.fault(BATCH, "status", status=429, retry_after="1")
    beacon = Beacon(server.proxy, server.member_token, retry_base=0.01, flush_at_exit=False)
    beacon.track(component, "throttled")
    assert beacon.flush(10.0)
    first, second = server.proxy_log(BATCH)
    assert (first["status"], second["status"]) == (429, 200)
    gap = second["at"] - first["at"]
    assert 1000 <= gap < 3000, f"retried {gap} ms after a Retry-After of 1 s"
    assert server.actions(component) == 1
    beacon.close(1.0)


def test_a_full_queue_drops_the_oldest_events_and_counts_them(server: Server, component: str) -> None:
    beacon = Beacon(server.worker, server.member_token, max_queue_size=10, flush_interval=3600, flush_at_exit=False)
    for i in range(25):
        beacon.track(component, f"a{i:02d}")
    stats = beacon.stats()
    assert (stats.queued, stats.dropped) == (10, 15)
    assert beacon.flush(10.0)
    assert sorted(row["action"] for row in server.exported(component)) == [f"a{i:02d}" for i in range(15, 25)]
    beacon.close(1.0)


def test_flush_and_close_return_within_their_timeout_when_the_server_hangs(server: Server, component: str) -> None:
    server.fault(BATCH, "hang", times=100)
    beacon = Beacon(server.proxy, server.member_token, request_timeout=30.0, flush_at_exit=False)
    beacon.track(component, "stuck")
    started = time.monotonic()
    assert beacon.flush(0.5) is False
    assert time.monotonic() - started < 1.5
    beacon.track(component, "stuck again")
    started = time.monotonic()
    assert beacon.close(0.5) is False
    assert time.monotonic() - started < 1.5
    assert beacon.stats().queued == 2


def test_a_script_that_exits_without_flushing_loses_no_events(server: Server, component: str, python_exe: str) -> None:
    script = textwrap.dedent(
        f"""
        from beacon_sdk import Beacon
        beacon = Beacon({server.worker!r}, {server.member_token!r})
        for i in range(1000):
            beacon.track({component!r}, "exiting", {{"i": i}})
        """
    )
    started = time.monotonic()
    subprocess.run([python_exe, "-c", script], check=True, timeout=60)
    elapsed = time.monotonic() - started
    assert server.actions(component) == 1000
    assert elapsed < 10, f"the script took {elapsed:.1f} s to exit"


def test_exit_is_bounded_by_shutdown_timeout_when_the_server_hangs(server: Server, component: str, python_exe: str) -> None:
    server.fault(BATCH, "hang", times=100)
    script = textwrap.dedent(
        f"""
        from beacon_sdk import Beacon
        beacon = Beacon({server.proxy!r}, {server.member_token!r}, shutdown_timeout=1.0, request_timeout=30.0)
        beacon.track({component!r}, "never answered")
        """
    )
    started = time.monotonic()
    subprocess.run([python_exe, "-c", script], check=True, timeout=60)
    elapsed = time.monotonic() - started
    assert elapsed < 4, f"the script took {elapsed:.1f} s to exit with a shutdown_timeout of 1 s"
    assert [e["mode"] for e in server.proxy_log(BATCH)] == ["hang"]


def test_metrics_arrive(server: Server, component: str) -> None:
    beacon = Beacon(server.worker, server.member_token, flush_at_exit=False)
    beacon.metric(component, "latency_ms", 12.5, {"route": "/checkout"})
    beacon.metric(component, "latency_ms", 7)
    assert beacon.flush(10.0)
    samples = server.get(f"/api/telemetry/metrics/{component}")["data"]
    assert sorted(s["value"] for s in samples) == [7, 12.5]
    assert {s["metric_name"] for s in samples} == {"latency_ms"}
    assert any(s["metadata"] == {"route": "/checkout"} for s in samples)
    beacon.close(1.0)


def test_errors_arrive_and_group(server: Server, component: str) -> None:
    beacon = Beacon(server.worker, server.member_token, flush_at_exit=False)
    message = f"upstream timed out in {component}"
    for _ in range(2):
        beacon.error("TimeoutError", message, severity="high", stack="Traceback ...", context={"component": component})
    assert beacon.flush(10.0)
    issues = [i for i in server.get("/api/errors?limit=200")["data"] if i["message"] == message]
    assert len(issues) == 1
    assert (issues[0]["type"], issues[0]["severity"], issues[0]["count"]) == ("TimeoutError", "high", 2)
    beacon.close(1.0)


def test_bad_input_never_raises_and_is_counted(server: Server, component: str) -> None:
    errors: List[DeliveryError] = []
    beacon = Beacon(server.worker, server.member_token, on_error=errors.append, flush_at_exit=False)
    beacon.track(component, "ok")
    beacon.track(component, "x" * 101)  # the server refuses names over 100 characters
    beacon.track(component, "nan", {"value": float("nan")})  # not JSON
    beacon.track(None, None)  # type: ignore[arg-type]
    beacon.metric(component, "bad", float("inf"))
    beacon.error("E", "m", context="not a mapping")  # type: ignore[arg-type]
    assert beacon.flush(10.0)
    stats = beacon.stats()
    assert stats.sent == 1
    assert stats.rejected == 5  # the long name, NaN, None/None, inf, and the context
    assert all(isinstance(e, DeliveryError) for e in errors)
    assert server.actions(component) == 1
    beacon.close(1.0)


def test_a_refusing_server_is_not_retried(server: Server, component: str) -> None:
    errors: List[DeliveryError] = []
    beacon = Beacon(server.proxy, server.viewer_token, on_error=errors.append, flush_at_exit=False)
    beacon.track(component, "forbidden")
    started = time.monotonic()
    assert beacon.flush(10.0)
    assert time.monotonic() - started < 2
    assert [e["status"] for e in server.proxy_log(BATCH)] == [403]
    assert beacon.stats().failed == 1
    assert [(e.status, e.kind, e.count) for e in errors] == [(403, "event", 1)]
    beacon.close(1.0)


def test_before_send_can_change_or_drop_items(server: Server, component: str) -> None:
    def scrub(kind: str, body: dict) -> "dict | None":
        if body.get("action") == "secret":
            return None
        body.setdefault("properties", {})["scrubbed"] = True
        return body

    beacon = Beacon(server.worker, server.member_token, before_send=scrub, flush_at_exit=False)
    beacon.track(component, "secret")
    beacon.track(component, "public")
    assert beacon.flush(10.0)
    rows = server.exported(component)
    assert [row["action"] for row in rows] == ["public"]
    assert '"scrubbed":true' in rows[0]["properties"]
    assert beacon.stats().filtered == 1
    beacon.close(1.0)


def test_a_large_backlog_goes_in_batches_within_the_limits(server: Server, component: str) -> None:
    beacon = Beacon(server.proxy, server.member_token, max_batch_bytes=64 * 1024, flush_at_exit=False)
    padding = "p" * 1000
    for i in range(300):
        beacon.track(component, "bulk", {"i": i, "padding": padding})
    assert beacon.flush(20.0)
    batches = server.proxy_log(BATCH)
    assert len(batches) > 1 and all(b["status"] == 200 for b in batches)
    assert sum(len(b["ids"]) for b in batches) == 300
    assert server.actions(component) == 300
    beacon.close(1.0)
