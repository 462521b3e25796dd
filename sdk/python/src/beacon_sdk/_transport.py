"""HTTP for the sender: one keep-alive connection, JSON in and out, and the retry rules.

Only the sender's lock holder uses a transport, so the connection needs no lock of its own.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import ssl
import time
from typing import Any, Dict, Mapping, Optional
from urllib.parse import urlsplit

from ._version import __version__

USER_AGENT = f"beacon-sdk-python/{__version__}"

# Statuses worth another try: the server is busy, overloaded or briefly down.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})

# The longest `Retry-After` obeyed; a bigger one is most likely a misconfigured proxy.
MAX_RETRY_AFTER = 300.0


class Answer:
    """A response: its status, its `Retry-After` in seconds (if any), and its JSON body."""

    __slots__ = ("status", "retry_after", "body")

    def __init__(self, status: int, retry_after: Optional[float], body: Any) -> None:
        self.status = status
        self.retry_after = retry_after
        self.body = body


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def backoff(attempt: int, base: float, cap: float, retry_after: Optional[float]) -> float:
    """The wait before retry number `attempt` (1-based): exponential with equal jitter, and
    never shorter than what the server asked for."""
    ceiling = min(cap, base * 2.0 ** (attempt - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    if retry_after is not None:
        # A little jitter on top, so clients told the same thing do not return in step.
        delay = max(delay, retry_after + random.uniform(0, min(1.0, retry_after * 0.1)))
    return delay


class Transport:
    def __init__(self, url: str, token: Optional[str], headers: Optional[Mapping[str, str]] = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"Beacon url must be http:// or https:// with a host, not {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._headers: Dict[str, str] = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        if headers:
            self._headers.update(headers)
        self._conn: Optional[http.client.HTTPConnection] = None
        self._ssl: Optional[ssl.SSLContext] = None

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._https:
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=self._ssl)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:
                pass

    def post(self, path: str, body: bytes, timeout: float) -> Answer:
        """POSTs `body`; raises OSError (or http.client.HTTPException) when no answer came.

        A kept-alive connection the server has since closed fails before anything is answered:
        that one failure is retried at once on a new connection.
        """
        reused = self._conn is not None
        try:
            return self._post_once(path, body, timeout)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused:
                raise
            return self._post_once(path, body, timeout)

    def _post_once(self, path: str, body: bytes, timeout: float) -> Answer:
        conn = self._conn
        if conn is None:
            conn = self._conn = self._connect(timeout)
        else:
            conn.timeout = timeout
            if conn.sock is not None:
                conn.sock.settimeout(timeout)
        try:
            conn.request("POST", self._prefix + path, body=body, headers=self._headers)
            resp = conn.getresponse()
            raw = resp.read()
        except BaseException:
            self.close()
            raise
        if resp.will_close:
            self.close()
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return Answer(resp.status, parse_retry_after(resp.getheader("Retry-After")), parsed)
