// An agent's trace (agent → chat → tool), exported by the real OpenTelemetry JS exporter
// (@opentelemetry/exporter-trace-otlp-http: OTLP/HTTP with JSON bodies), configured only by the
// standard variables OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_HEADERS, as a user's
// agent would be. Prints {"trace_id": ...} once the exporter has returned.
import { context, trace, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

const service = process.argv[2] ?? 'js-agent';
const exporter = new OTLPTraceExporter();
const provider = new TracerProvider({
  resource: resourceFromAttributes({ 'service.name': service }),
  // Batched, as in production: the three spans go in one request.
  spanProcessors: [new BatchSpanProcessor({ exporter })],
});
const tracer = provider.getTracer('beacon-otel-tests');

const agent = tracer.startSpan('invoke_agent researcher', {
  attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'researcher' },
});
const inAgent = trace.setSpan(context.active(), agent);
const chat = tracer.startSpan(
  'chat gpt-4o-mini',
  {
    kind: 2, // CLIENT
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.cache_read.input_tokens': 200,
      'gen_ai.usage.output_tokens': 500,
      'gen_ai.usage.reasoning.output_tokens': 100,
      'gen_ai.input.messages': JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'Find flights' }] }]),
    },
  },
  inAgent,
);
const tool = tracer.startSpan(
  'execute_tool flight_search',
  { attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': 'flight_search' } },
  trace.setSpan(inAgent, chat),
);
tool.setStatus({ code: SpanStatusCode.ERROR, message: 'the search timed out' });
tool.end();
chat.end();
agent.end();

await provider.forceFlush();
await provider.shutdown();
process.stdout.write(JSON.stringify({ trace_id: agent.spanContext().traceId }) + '\n');
