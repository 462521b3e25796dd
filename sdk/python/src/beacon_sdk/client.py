"""The client: `track`, `metric` and `error` put an item on a bounded in-memory queue and return;
a daemon thread sends the queue in the background; `flush` and `close` send it from the calling
thread, bounded by their timeout; an `atexit` hook closes every open client.

Delivery, in order: events go in batches (at most `max_batch_size` events and `max_batch_bytes`
of body) to `POST /api/telemetry/batch`, each event with an id made here, so a batch sent twice
(its answer lost, then retried) is stored once — the server skips ids it already has. Metrics
and errors go one per request. One request is outstanding at a time; a request that fails with
429, a 5xx or no answer is retried with exponential backoff and jitter, never sooner than its
`Retry-After`, up to `max_retries` times; any other failure drops it. Whoever sends holds the
send lock, so the daemon thread and a caller's `flush` never send the same item twice.
"""

from __future__ import annotations

import atexit
import collections
import datetime as _dt
import json
import logging
import math
import os
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Tuple, Union

from . import _transport
from ._ids import uuid7s

logger = logging.getLogger("beacon_sdk")

# Item kinds, first in each queued tuple. An event is
# (EVENT, seq, component, action, properties, timestamp_ms, session_id, user_id); a metric is
# (METRIC, seq, body); an error is (ERROR, seq, body). `seq` counts items from 0 in the order
# they were queued, so `flush` can tell when everything queued before it has been dealt with.
_EVENT, _METRIC, _ERROR = 0, 1, 2
_KIND_NAMES = ("event", "metric", "error")
_PATHS = ("/api/telemetry/batch", "/api/telemetry/metrics", "/api/errors")

# The server's limits (SPEC.md, "Telemetry and analytics" and "Errors").
SERVER_MAX_BATCH = 500
SERVER_MAX_BATCH_BYTES = 1024 * 1024
_ERROR_LIMITS = (("type", 100), ("message", 2000), ("stack", 64 * 1024), ("step_id", 100))

_EMPTY_BATCH = len(b'{"events":[]}')
_dumps = json.JSONEncoder(separators=(",", ":"), default=str, allow_nan=False, ensure_ascii=False).encode

Timestamp = Union[float, int, _dt.datetime]
BeforeSend = Callable[[str, Dict[str, Any]], Optional[Dict[str, Any]]]


@dataclass(frozen=True)
class Stats:
    """What the client has done so far, counted in items (events, metrics, errors)."""

    #: waiting in the queue, or in the request being sent
    queued: int
    #: stored by the server
    sent: int
    #: events the server already had (a retried batch), so not stored again
    duplicates: int
    #: refused by the server (invalid), not encodable as JSON, or not even queueable (a
    #: `properties` that is not a mapping, ...)
    rejected: int
    #: pushed out of a full queue (the oldest go first), or tracked after `close`
    dropped: int
    #: given up: retries exhausted, or an error status that a retry cannot fix (401, 403, ...)
    failed: int
    #: discarded by `before_send`
    filtered: int
    #: requests sent again after a 429, a 5xx or a network error
    retries: int


class DeliveryError(Exception):
    """Handed to `on_error` when items are lost: refused by the server, or undeliverable."""

    def __init__(self, message: str, *, kind: str, count: int, status: Optional[int] = None) -> None:
        super().__init__(message)
        #: "event", "metric" or "error"
        self.kind = kind
        #: how many items this is about
        self.count = count
        #: the HTTP status, or None when no answer came
        self.status = status


class _Request:
    __slots__ = ("kind", "path", "body", "count", "first_seq", "attempts", "not_before")

    def __init__(self, kind: int, body: bytes, count: int, first_seq: int) -> None:
        self.kind = kind
        self.path = _PATHS[kind]
        self.body = body
        self.count = count
        self.first_seq = first_seq
        self.attempts = 0
        self.not_before = 0.0


def _timestamp_ms(value: Timestamp) -> float:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.timestamp() * 1000.0
    number = float(value)
    # Epoch seconds (time.time()) or epoch milliseconds: 1e11 ms is 1973, 1e11 s is year 5138.
    return number * 1000.0 if number < 1e11 else number


class Beacon:
    """A Beacon client. One per process is the usual shape; it is safe to share between threads.

    ``Beacon(url, token)`` — `url` is the Beacon origin (``https://beacon.example.com``), `token`
    an access token with the member role (Team → Access tokens).
    """

    def __init__(
        self,
        url: str,
        token: Optional[str],
        *,
        flush_interval: float = 2.0,
        max_queue_size: int = 10_000,
        max_batch_size: int = SERVER_MAX_BATCH,
        max_batch_bytes: int = SERVER_MAX_BATCH_BYTES,
        max_retries: int = 5,
        retry_base: float = 0.5,
        retry_max: float = 30.0,
        request_timeout: float = 10.0,
        shutdown_timeout: float = 5.0,
        session_id: Optional[str] = None,
        user_id: Optional[str] = None,
        flush_at_exit: bool = True,
        on_error: Optional[Callable[[DeliveryError], None]] = None,
        before_send: Optional[BeforeSend] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        self._url = url.rstrip("/")
        self._token = token
        self._transport = _transport.Transport(self._url, token, headers)
        self._flush_interval = max(0.01, float(flush_interval))
        self._max_queue = max(1, int(max_queue_size))
        self._max_batch = max(1, min(int(max_batch_size), SERVER_MAX_BATCH))
        self._max_bytes = max(1024, min(int(max_batch_bytes), SERVER_MAX_BATCH_BYTES))
        self._max_retries = max(0, int(max_retries))
        self._retry_base = max(0.0, float(retry_base))
        self._retry_max = max(self._retry_base, float(retry_max))
        self._request_timeout = max(0.01, float(request_timeout))
        self._shutdown_timeout = max(0.0, float(shutdown_timeout))
        self._session_id = session_id
        self._user_id = user_id
        self._on_error = on_error
        self._before_send = before_send

        self._q: Deque[Tuple[Any, ...]] = collections.deque()
        self._seq = 0
        self._pending: Optional[_Request] = None
        self._closed = False
        self._stopping = False
        self._counts: Dict[str, int] = dict.fromkeys(
            ("sent", "duplicates", "rejected", "dropped", "failed", "filtered", "retries"), 0
        )
        self._init_threading()
        _all_clients.add(self)
        if flush_at_exit:
            _open_clients.add(self)

    # --- the caller's side: never blocks on the network, never raises ---------------------------

    def track(
        self,
        component: str,
        action: str,
        properties: Optional[Mapping[str, Any]] = None,
        *,
        user_id: Optional[str] = None,
        session_id: Optional[str] = None,
        timestamp: Optional[Timestamp] = None,
    ) -> None:
        """Queues an event: `component` (what was used) and `action` (what was done with it),
        each 1-100 characters; `properties` a JSON object up to 8 KiB. `timestamp` defaults to
        now (a datetime, or epoch seconds or milliseconds)."""
        try:
            if properties is not None:
                properties = dict(properties)
            ts = time.time() * 1000.0 if timestamp is None else _timestamp_ms(timestamp)
            with self._qlock:
                if self._closed:
                    self._counts["dropped"] += 1
                    return
                seq = self._seq
                self._seq = seq + 1
                q = self._q
                if len(q) >= self._max_queue:
                    q.popleft()
                    self._counts["dropped"] += 1
                q.append(
                    (
                        _EVENT,
                        seq,
                        component,
                        action,
                        properties,
                        ts,
                        session_id or self._session_id,
                        user_id or self._user_id,
                    )
                )
                full = len(q) == self._max_batch
            if full:
                self._wake.set()
        except Exception:  # the caller's code must never fail because of telemetry
            self._counts["rejected"] += 1
            logger.debug("beacon: track failed", exc_info=True)

    def metric(
        self,
        component: str,
        name: str,
        value: float,
        metadata: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Queues a numeric sample (`POST /api/telemetry/metrics`), e.g. a latency in ms."""
        try:
            body: Dict[str, Any] = {"component": component, "metric_name": name, "value": value}
            if metadata is not None:
                body["metadata"] = dict(metadata)
            self._enqueue(_METRIC, body)
        except Exception:
            self._counts["rejected"] += 1
            logger.debug("beacon: metric failed", exc_info=True)

    def error(
        self,
        type: str,
        message: str,
        *,
        severity: Optional[str] = None,
        stack: Optional[str] = None,
        workflow_id: Optional[str] = None,
        step_id: Optional[str] = None,
        context: Optional[Mapping[str, Any]] = None,
    ) -> None:
        """Queues an error report (`POST /api/errors`): grouped into issues by type, message,
        workflow and step. `severity` is low, medium, high or critical (derived when absent)."""
        try:
            body: Dict[str, Any] = {"type": type, "message": message}
            for key, value in (
                ("severity", severity),
                ("stack", stack),
                ("workflow_id", workflow_id),
                ("step_id", step_id),
            ):
                if value is not None:
                    body[key] = value
            if context is not None:
                body["context"] = dict(context)
            self._enqueue(_ERROR, body)
        except Exception:
            self._counts["rejected"] += 1
            logger.debug("beacon: error failed", exc_info=True)

    def _enqueue(self, kind: int, body: Dict[str, Any]) -> None:
        with self._qlock:
            if self._closed:
                self._counts["dropped"] += 1
                return
            seq = self._seq
            self._seq = seq + 1
            if len(self._q) >= self._max_queue:
                self._q.popleft()
                self._counts["dropped"] += 1
            self._q.append((kind, seq, body))
        self._wake.set()

    # --- flushing and closing ---------------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        """Sends everything queued before this call, from this thread. Returns True when all of
        it was dealt with (stored, refused or given up), False when `timeout` seconds ran out
        first — it never waits longer. What is left keeps being sent in the background."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._qlock:
            target = self._seq
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._send_lock.acquire(timeout=remaining):
                return False
            try:
                if self._done_through(target):
                    return True
                outcome = self._step(deadline)
            except Exception:
                logger.warning("beacon: flush failed", exc_info=True)
                return False
            finally:
                self._send_lock.release()
            if outcome == "wait":
                return False

    def close(self, timeout: Optional[float] = None) -> bool:
        """Flushes (bounded by `timeout`, default `shutdown_timeout`) and stops the background
        thread. Items tracked afterwards are dropped. Returns what `flush` returned."""
        with self._qlock:
            self._closed = True
        ok = self.flush(self._shutdown_timeout if timeout is None else timeout)
        self._stopping = True
        self._wake.set()
        _open_clients.discard(self)
        if self._send_lock.acquire(blocking=False):
            try:
                self._transport.close()
            finally:
                self._send_lock.release()
        return ok

    def __enter__(self) -> "Beacon":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def clear(self) -> None:
        """Drops everything still queued (not a request already on its way), counted as dropped."""
        with self._qlock:
            self._counts["dropped"] += len(self._q)
            self._q.clear()

    def stats(self) -> Stats:
        """The counters (see `Stats`)."""
        with self._qlock:
            queued = len(self._q)
            pending = self._pending
            counts = dict(self._counts)
        if pending is not None:
            queued += pending.count
        return Stats(queued=queued, **counts)

    # --- tracing and the gateway ------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._url

    def configure_tracing(self, **options: Any) -> Any:
        """`beacon_sdk.configure_tracing` with this client's url and token."""
        from .tracing import configure_tracing

        return configure_tracing(self._url, self._token or "", **options)

    def gateway_base_url(self, service: str) -> str:
        """The base URL to give the provider's own client library: ``openai`` →
        ``<url>/api/gateway/openai/v1``; ``anthropic`` → ``<url>/api/gateway/anthropic`` (the
        Anthropic clients add ``/v1/messages`` themselves). Use the access token as the API key."""
        from .gateway import gateway_base_url

        return gateway_base_url(self._url, service)

    def gateway_headers(self, **options: Any) -> Dict[str, str]:
        """Beacon's gateway headers (`beacon_sdk.gateway.gateway_headers`)."""
        from .gateway import gateway_headers

        return gateway_headers(**options)

    # --- the sending side -------------------------------------------------------------------------

    def _init_threading(self) -> None:
        self._qlock = threading.Lock()
        self._send_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="beacon-sdk-sender", daemon=True)
        self._thread.start()

    def _after_fork_in_child(self) -> None:
        # The parent sends what was queued before the fork; the child starts empty, with fresh
        # locks (one may have been held by the parent's sender) and its own sender thread.
        self._q = collections.deque()
        self._pending = None
        self._transport._conn = None
        if not self._stopping:
            self._init_threading()

    def _run(self) -> None:
        while not self._stopping:
            try:
                pending = self._pending
                wait = self._flush_interval
                if pending is not None:
                    wait = max(0.0, pending.not_before - time.monotonic())
                self._wake.wait(wait)
                self._wake.clear()
                while not self._stopping:
                    with self._send_lock:
                        outcome = self._step(None)
                    if outcome != "sent":
                        break
            except Exception:
                logger.warning("beacon: the sender thread hit an error", exc_info=True)
                time.sleep(self._flush_interval)

    def _done_through(self, target: int) -> bool:
        """Whether every item numbered below `target` has been dealt with. Send lock held."""
        pending = self._pending
        if pending is not None and pending.first_seq < target:
            return False
        with self._qlock:
            return not self._q or self._q[0][1] >= target

    def _step(self, deadline: Optional[float]) -> str:
        """One attempt at the request in hand, taking the next one from the queue if there is
        none. Send lock held. `deadline` None is the background thread, which never sleeps here.

        Returns "sent" (an attempt was made), "idle" (nothing to send) or "wait" (the next
        attempt is not due before the deadline)."""
        pending = self._pending
        if pending is None:
            pending = self._pending = self._take()
            if pending is None:
                return "idle"
        now = time.monotonic()
        if pending.not_before > now:
            if deadline is None or pending.not_before >= deadline:
                return "wait"
            time.sleep(pending.not_before - now)
            now = time.monotonic()
        timeout = self._request_timeout
        if deadline is not None:
            timeout = min(timeout, deadline - now)
            if timeout <= 0.001:
                return "wait"
        self._attempt(pending, timeout)
        return "sent"

    def _take(self) -> Optional[_Request]:
        """The next request from the queue: a batch of events, or one metric or error. Items
        that cannot be sent (refused here, or dropped by `before_send`) are skipped."""
        while True:
            with self._qlock:
                q = self._q
                if not q:
                    return None
                items: List[Tuple[Any, ...]] = [q.popleft()]
                if items[0][0] == _EVENT:
                    while q and len(items) < self._max_batch and q[0][0] == _EVENT:
                        items.append(q.popleft())
            request = self._batch(items) if items[0][0] == _EVENT else self._single(items[0])
            if request is not None:
                return request

    def _single(self, item: Tuple[Any, ...]) -> Optional[_Request]:
        kind, seq, body = item
        if kind == _ERROR:
            for key, limit in _ERROR_LIMITS:
                value = body.get(key)
                if isinstance(value, str) and len(value) > limit:
                    body[key] = value[:limit]
        elif kind == _METRIC:
            value = body.get("value")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                self._reject(kind, 1, "metric value must be a finite number")
                return None
        encoded = self._encode(kind, self._filter(kind, body))
        return None if encoded is None else _Request(kind, encoded, 1, seq)

    def _batch(self, items: List[Tuple[Any, ...]]) -> Optional[_Request]:
        stamps = [int(item[5]) for item in items]
        ids = uuid7s(stamps)
        events: List[Dict[str, Any]] = []
        origins: List[int] = []  # for each event, its index in `items`
        for index, item in enumerate(items):
            _, _seq, component, action, properties, _ts, session_id, user_id = item
            ms = stamps[index]
            event: Dict[str, Any] = {
                "id": ids[index],
                "component": component,
                "action": action,
                "timestamp": ms,
            }
            if properties is not None:
                event["properties"] = properties
            if session_id is not None:
                event["session_id"] = session_id
            if user_id is not None:
                event["user_id"] = user_id
            kept = self._filter(_EVENT, event)
            if kept is not None:
                events.append(kept)
                origins.append(index)
        if not events:
            return None
        # Usually the whole batch encodes at once and fits; one event at a time otherwise.
        try:
            body = _dumps({"events": events}).encode("utf-8")
        except (TypeError, ValueError):
            body = None
        if body is not None and len(body) <= self._max_bytes:
            return _Request(_EVENT, body, len(events), items[0][1])
        return self._batch_by_size(items, events, origins)

    def _batch_by_size(
        self, items: List[Tuple[Any, ...]], events: List[Dict[str, Any]], origins: List[int]
    ) -> Optional[_Request]:
        parts: List[bytes] = []
        size = _EMPTY_BATCH
        used = len(items)  # items consumed; the rest go back to the front of the queue
        for event, origin in zip(events, origins):
            encoded = self._encode(_EVENT, event)
            if encoded is None:
                continue
            if parts and size + len(encoded) + 1 > self._max_bytes:
                used = origin
                break
            if size + len(encoded) > self._max_bytes:
                self._reject(_EVENT, 1, "event larger than the batch size limit")
                continue
            parts.append(encoded)
            size += len(encoded) + 1
        if used < len(items):
            with self._qlock:
                self._q.extendleft(reversed(items[used:]))
        if not parts:
            return None
        body = b'{"events":[' + b",".join(parts) + b"]}"
        return _Request(_EVENT, body, len(parts), items[0][1])

    def _filter(self, kind: int, body: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        if body is None or self._before_send is None:
            return body
        try:
            kept = self._before_send(_KIND_NAMES[kind], body)
        except Exception:
            logger.warning("beacon: before_send raised; the item is dropped", exc_info=True)
            kept = None
        if kept is None:
            self._counts["filtered"] += 1
        return kept

    def _encode(self, kind: int, body: Optional[Dict[str, Any]]) -> Optional[bytes]:
        if body is None:
            return None
        try:
            return _dumps(body).encode("utf-8")
        except (TypeError, ValueError) as exc:
            self._reject(kind, 1, f"not encodable as JSON: {exc}")
            return None

    def _attempt(self, request: _Request, timeout: float) -> None:
        try:
            answer = self._transport.post(request.path, request.body, timeout)
        except Exception as exc:  # no answer: refused, reset, timed out
            self._retry_later(request, None, None, f"no answer from Beacon ({exc.__class__.__name__}: {exc})")
            return
        if 200 <= answer.status < 300:
            self._pending = None
            self._delivered(request, answer.body)
        elif answer.status in _transport.RETRYABLE:
            self._retry_later(request, answer.status, answer.retry_after, _describe(answer))
        else:
            self._pending = None
            self._give_up(request, answer.status, _describe(answer))

    def _delivered(self, request: _Request, body: Any) -> None:
        if request.kind != _EVENT or not isinstance(body, dict):
            self._counts["sent"] += request.count
            return
        accepted = int(body.get("accepted") or 0)
        duplicates = int(body.get("duplicates") or 0)
        rejected = body.get("rejected") or []
        self._counts["sent"] += accepted
        self._counts["duplicates"] += duplicates
        if rejected:
            first = rejected[0].get("error", "") if isinstance(rejected[0], dict) else ""
            self._reject(_EVENT, len(rejected), f"Beacon refused {len(rejected)} event(s): {first}", 200)

    def _retry_later(
        self, request: _Request, status: Optional[int], retry_after: Optional[float], reason: str
    ) -> None:
        request.attempts += 1
        if request.attempts > self._max_retries:
            self._pending = None
            self._give_up(request, status, f"{reason}; gave up after {self._max_retries} retries")
            return
        self._counts["retries"] += 1
        delay = _transport.backoff(request.attempts, self._retry_base, self._retry_max, retry_after)
        request.not_before = time.monotonic() + delay
        logger.debug("beacon: %s; retry %d in %.2fs", reason, request.attempts, delay)

    def _give_up(self, request: _Request, status: Optional[int], reason: str) -> None:
        self._counts["failed"] += request.count
        kind = _KIND_NAMES[request.kind]
        message = f"{request.count} {kind}(s) not delivered to {request.path}: {reason}"
        logger.warning("beacon: %s", message)
        self._report(DeliveryError(message, kind=kind, count=request.count, status=status))

    def _reject(self, kind: int, count: int, reason: str, status: Optional[int] = None) -> None:
        self._counts["rejected"] += count
        logger.warning("beacon: %s", reason)
        self._report(DeliveryError(reason, kind=_KIND_NAMES[kind], count=count, status=status))

    def _report(self, error: DeliveryError) -> None:
        if self._on_error is None:
            return
        try:
            self._on_error(error)
        except Exception:
            logger.debug("beacon: on_error raised", exc_info=True)


def _describe(answer: _transport.Answer) -> str:
    detail = ""
    if isinstance(answer.body, dict):
        err = answer.body.get("error")
        if isinstance(err, dict) and err.get("message"):
            detail = f": {err['message']}"
    return f"HTTP {answer.status}{detail}"


# Every client with flush_at_exit, closed by the atexit hook. The hook drains from the main
# thread, bounded by each client's shutdown_timeout: the daemon sender may be stopped at any
# point once the interpreter finalises, so it is not relied on.
_open_clients: "set[Beacon]" = set()
# Every client, for restarting their sender threads in a forked child.
_all_clients: "weakref.WeakSet[Beacon]" = weakref.WeakSet()


def _close_all_at_exit() -> None:
    for client in list(_open_clients):
        try:
            client.close()
        except Exception:
            pass


def _after_fork_in_child() -> None:
    for client in list(_all_clients):
        client._after_fork_in_child()


atexit.register(_close_all_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
