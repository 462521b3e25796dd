"""Beacon's LLM gateway for the providers' own client libraries: change their base URL and API
key (the Beacon access token), and every call is priced, counted, cached and held to the budget
with the team's provider keys (SPEC.md, "LLM gateway")."""

from __future__ import annotations

from typing import Dict, Optional

# The path each provider's client library expects under its base URL: OpenAI's clients append
# `/chat/completions` to a base that ends in `/v1`; Anthropic's append `/v1/messages` themselves.
_BASES = {"openai": "/api/gateway/openai/v1", "anthropic": "/api/gateway/anthropic"}


def gateway_base_url(url: str, service: str) -> str:
    """The base URL for `service` ("openai" or "anthropic") at the Beacon at `url`."""
    try:
        return url.rstrip("/") + _BASES[service]
    except KeyError:
        raise ValueError(f"the gateway serves {', '.join(sorted(_BASES))}, not {service!r}") from None


def gateway_headers(
    *,
    agent: Optional[str] = None,
    key_id: Optional[str] = None,
    fallback_key_id: Optional[str] = None,
    cache_ttl: Optional[int] = None,
) -> Dict[str, str]:
    """Headers to add to the client (``default_headers=`` in OpenAI's and Anthropic's SDKs):

    - `agent`: the agent name the calls are counted under (``x-beacon-agent``);
    - `key_id`: which of the team's provider keys to use (``x-beacon-key``; default: the most
      recently added valid key of that service);
    - `fallback_key_id`: a key to retry once on after a 429 or 5xx (``x-beacon-fallback-key``);
    - `cache_ttl`: seconds (at most 7 days) a non-streamed answer may be served from Beacon's
      cache for the same body (``x-beacon-cache-ttl``).
    """
    headers: Dict[str, str] = {}
    if agent:
        headers["x-beacon-agent"] = agent
    if key_id:
        headers["x-beacon-key"] = key_id
    if fallback_key_id:
        headers["x-beacon-fallback-key"] = fallback_key_id
    if cache_ttl is not None:
        headers["x-beacon-cache-ttl"] = str(int(cache_ttl))
    return headers
