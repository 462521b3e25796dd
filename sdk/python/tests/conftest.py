"""One real Beacon for the whole suite: `sdk/testing/server.mjs` starts the Worker under
`wrangler dev` (fresh state, migrations applied), the fault-injecting proxy in front of it, and
signs up a team with a member and a viewer access token. Tests talk to the Worker directly, or
through the proxy when they need a fault."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import pytest

REPO = Path(__file__).resolve().parents[3]


@dataclass
class Server:
    worker: str
    proxy: str
    member_token: str
    viewer_token: str
    log: str

    def get(self, path: str, token: Optional[str] = None) -> Any:
        request = urllib.request.Request(
            self.worker + path, headers={"Authorization": f"Bearer {token or self.member_token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as resp:
            raw = resp.read()
            if resp.headers.get_content_type() == "application/json":
                return json.loads(raw)
            return raw.decode("utf-8")

    def post(self, base: str, path: str, body: Any, token: Optional[str] = None) -> "tuple[int, Any]":
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(base + path, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                return err.code, json.loads(raw)
            except ValueError:
                return err.code, raw.decode("utf-8", "replace")

    # --- what the server stored ---

    def actions(self, component: str) -> int:
        """Events stored for `component` in the last day (the analytics rollup)."""
        cursor = ""
        while True:
            page = self.get(f"/api/analytics/components?range=24h&limit=200{cursor}")
            for row in page["data"]:
                if row["component"] == component:
                    return int(row["actions"])
            if not page.get("next_cursor"):
                return 0
            cursor = "&cursor=" + urllib.parse.quote(page["next_cursor"])

    def exported(self, component: str) -> List[Dict[str, str]]:
        """The raw events of `component` from the CSV export, oldest first."""
        import csv
        import io

        text = self.get("/api/analytics/export.csv?range=24h")
        return [row for row in csv.DictReader(io.StringIO(text)) if row["component"] == component]

    # --- the proxy ---

    def fault(self, path: str, mode: str, status: int = 503, retry_after: Optional[str] = None, times: int = 1) -> None:
        fault: Dict[str, Any] = {"path": path, "mode": mode, "status": status, "times": times}
        if retry_after is not None:
            fault["retry_after"] = retry_after
        self.post(self.proxy, "/__proxy/faults", fault)

    def proxy_log(self, path: Optional[str] = None) -> List[Dict[str, Any]]:
        with urllib.request.urlopen(self.proxy + "/__proxy/log", timeout=10) as resp:
            entries = json.loads(resp.read())
        return [e for e in entries if path is None or e["path"] == path]

    def reset_proxy(self) -> None:
        self.post(self.proxy, "/__proxy/reset", {})


@pytest.fixture(scope="session")
def server() -> Any:
    run_dir = REPO / "target" / "sdk" / f"python-{int(time.time() * 1000)}"
    run_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        ["node", str(REPO / "sdk" / "testing" / "server.mjs"), str(run_dir)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=30)
        pytest.exit(f"the test server did not start (exit {proc.returncode}); see {run_dir}", returncode=1)
    info = json.loads(line)
    yield Server(info["worker"], info["proxy"], info["member_token"], info["viewer_token"], info["log"])
    proc.stdin.close()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(autouse=True)
def clean_proxy(server: Server) -> Any:
    server.reset_proxy()
    yield
    server.reset_proxy()


@pytest.fixture
def component() -> str:
    """A component name no other test uses."""
    return f"py-{uuid.uuid4().hex[:12]}"


def wait_for(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1) -> Any:
    """Polls `check` until it returns something truthy; returns its last value."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = check()
    return value


@pytest.fixture
def python_exe() -> str:
    """The interpreter running the tests: the fresh venv with the built wheel installed."""
    return os.environ.get("BEACON_SDK_PYTHON") or __import__("sys").executable
