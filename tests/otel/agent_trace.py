"""An agent's trace (agent -> chat -> tool), exported by the real OpenTelemetry Python SDK with
its OTLP/HTTP protobuf exporter (opentelemetry-exporter-otlp-proto-http), configured only by the
standard variables OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_HEADERS, as a user's agent
would be. Prints {"trace_id": ...} once the exporter has returned."""

import json
import sys

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

service = sys.argv[1] if len(sys.argv) > 1 else "py-agent"
provider = TracerProvider(resource=Resource.create({"service.name": service}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer("beacon-otel-tests")

with tracer.start_as_current_span("invoke_agent planner") as agent:
    agent.set_attribute("gen_ai.operation.name", "invoke_agent")
    agent.set_attribute("gen_ai.agent.name", "planner")
    with tracer.start_as_current_span("chat claude-sonnet-4-5", kind=trace.SpanKind.CLIENT) as chat:
        chat.set_attribute("gen_ai.operation.name", "chat")
        chat.set_attribute("gen_ai.provider.name", "anthropic")
        chat.set_attribute("gen_ai.request.model", "claude-sonnet-4-5")
        chat.set_attribute("gen_ai.usage.input_tokens", 2000)
        chat.set_attribute("gen_ai.usage.cache_read.input_tokens", 500)
        chat.set_attribute("gen_ai.usage.cache_write.input_tokens", 300)
        chat.set_attribute("gen_ai.usage.output_tokens", 400)
        with tracer.start_as_current_span("execute_tool calendar") as tool:
            tool.set_attribute("gen_ai.operation.name", "execute_tool")
            tool.set_attribute("gen_ai.tool.name", "calendar")
    trace_id = format(agent.get_span_context().trace_id, "032x")

provider.force_flush()
provider.shutdown()
print(json.dumps({"trace_id": trace_id}))
