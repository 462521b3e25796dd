"""Beacon's Python client.

    from beacon_sdk import Beacon

    beacon = Beacon("https://beacon.example.com", "<access token>")
    beacon.track("checkout", "completed", {"plan": "pro"})

`track`, `metric` and `error` queue in memory and return at once; a background thread sends the
queue in batches, and what is left is sent when the process exits. See README.md.
"""

from ._version import __version__
from .client import Beacon, DeliveryError, Stats
from .gateway import gateway_base_url, gateway_headers
from .tracing import configure_tracing, traces_endpoint

__all__ = [
    "Beacon",
    "DeliveryError",
    "Stats",
    "__version__",
    "configure_tracing",
    "gateway_base_url",
    "gateway_headers",
    "traces_endpoint",
]
