"""OpenTelemetry traces to Beacon: an OTLP/HTTP exporter pointed at `<url>/api/otlp/v1/traces`
with the access token, so GenAI instrumentations (OpenAI, Anthropic, agent frameworks) report
their spans to Beacon. Needs the extra: ``pip install 'beacon-sdk[otel]'``."""

from __future__ import annotations

from typing import Any, Mapping, Optional


def traces_endpoint(url: str) -> str:
    """Beacon's OTLP/HTTP traces endpoint."""
    return url.rstrip("/") + "/api/otlp/v1/traces"


def configure_tracing(
    url: str,
    token: str,
    *,
    service_name: Optional[str] = None,
    sample_rate: float = 1.0,
    resource_attributes: Optional[Mapping[str, Any]] = None,
    set_global: bool = True,
    export_timeout: float = 10.0,
    batch: bool = True,
) -> Any:
    """Builds an OpenTelemetry `TracerProvider` that exports to Beacon and returns it.

    - `service_name`: the resource's ``service.name`` (Beacon's traces list shows it);
      default: OpenTelemetry's (``OTEL_SERVICE_NAME``, else ``unknown_service``).
    - `sample_rate`: the share of new traces recorded, 0.0 to 1.0 (0 records none; a child
      follows its parent's decision).
    - `set_global`: make it the global provider (`opentelemetry.trace.set_tracer_provider`),
      which instrumentations use. OpenTelemetry allows that once per process.
    - `export_timeout`: seconds one export may take.
    - `batch`: export in the background in batches (`BatchSpanProcessor`); False exports each
      span as it ends (`SimpleSpanProcessor`), for scripts and tests.

    OpenTelemetry flushes the provider at exit; call ``provider.force_flush()`` to send now.
    """
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "configure_tracing needs OpenTelemetry: pip install 'beacon-sdk[otel]'"
        ) from exc

    rate = min(1.0, max(0.0, float(sample_rate)))
    attributes = dict(resource_attributes or {})
    if service_name:
        attributes["service.name"] = service_name
    provider = TracerProvider(
        resource=Resource.create(attributes),
        sampler=ParentBased(TraceIdRatioBased(rate)),
    )
    exporter = OTLPSpanExporter(
        endpoint=traces_endpoint(url),
        headers={"Authorization": f"Bearer {token}"},
        timeout=export_timeout,
    )
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    if set_global:
        trace.set_tracer_provider(provider)
    return provider
