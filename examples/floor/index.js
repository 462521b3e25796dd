// The floor under `POST /api/otlp/v1/traces` on one local workerd: a plain JavaScript Worker that
// writes the rows Beacon writes for a 100-span request (10 agent traces of 10 spans, half of them
// LLM calls), generated in the Worker itself, with nothing decoded, priced, looked up or checked.
// `POST /` writes the 100 span rows alone; `POST /facts` also the 50 usage rows and the 10 trace
// rows (with their indexes: 270 rows written, Beacon's request writes ~255). Not part of `make
// bench`; measured by hand (README, "Traces: the floor"):
//
//   cd examples/floor && npx wrangler d1 migrations apply beacon --local --persist-to .state
//   npx wrangler dev --local --port 8891 --persist-to .state
//   wrk -t2 -c16 -d10s -s post.lua http://127.0.0.1:8891/facts   (post.lua: wrk.method = "POST")
const TEAM = "team-floor";
const hex = (n) => [...crypto.getRandomValues(new Uint8Array(n))].map((b) => b.toString(16).padStart(2, "0")).join("");
const ATTRS = JSON.stringify({
  "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
  "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "gen_ai.response.id": "chatcmpl-" + "a".repeat(24),
  "gen_ai.response.finish_reasons": ["tool_calls"], "gen_ai.usage.input_tokens": 1234,
  "gen_ai.usage.output_tokens": 321, "gen_ai.usage.cache_read.input_tokens": 200,
  "gen_ai.usage.reasoning.output_tokens": 0, "server.address": "api.openai.com",
});
let ready = false;
export default {
  async fetch(req, env) {
    if (!ready) {
      await env.DB.prepare("INSERT OR IGNORE INTO teams (id, name, created_at) VALUES (?, 'floor', 0)").bind(TEAM).run();
      ready = true;
    }
    const now = Date.now();
    const rows = [];
    for (let t = 0; t < 10; t++) {
      const trace = hex(16);
      const root = hex(8);
      for (let s = 0; s < 10; s++) {
        const id = s === 0 ? root : hex(8);
        const llm = s % 2 === 1;
        rows.push([trace, id, s === 0 ? null : root, llm ? "chat gpt-4o-mini" : "execute_tool lookup", "client",
          now - 1000 + s * 7.25, 12.5, "ok", "billing-bot", "openai-agents", llm ? "chat" : "execute_tool",
          llm ? "openai" : null, llm ? "gpt-4o-mini" : null, "planner", llm ? null : "lookup",
          llm ? 1034 : null, llm ? 200 : null, llm ? 0 : null, llm ? 321 : null, llm ? 0 : null, llm ? 1234567 : null,
          ATTRS, "[]"]);
      }
    }
    const facts = new URL(req.url).pathname === "/facts";
    const stmts = [];
    const spans = env.DB.prepare(
      `INSERT INTO spans (team_id, trace_id, span_id, parent_span_id, name, kind, started_at, duration_ms, status,
         service, scope, operation, provider, request_model, agent, tool, input_tokens, cache_read_tokens,
         cache_write_tokens, output_tokens, reasoning_tokens, cost_nusd, attributes, events, received_at)
       SELECT ?1, value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8,
         value->>9, value->>10, value->>11, value->>12, value->>13, value->>14, value->>15, value->>16, value->>17,
         value->>18, value->>19, value->>20, value->>21, value->>22, ?2
       FROM json_each(?3) WHERE true ON CONFLICT DO NOTHING`,
    ).bind(TEAM, now, JSON.stringify(rows));
    stmts.push(spans);
    if (facts) {
      // The same facts as Beacon's: each LLM span a usage row, each trace a row (with the list's index).
      const usage = rows.filter((x) => x[15] !== null).map((x) => [crypto.randomUUID(), x[13], x[11], x[12], x[15], x[16], x[17], x[18], x[19], x[20], x[0], x[1]]);
      stmts.push(env.DB.prepare(
        `INSERT INTO llm_usage (id, team_id, execution_id, workflow_id, step_id, agent, key_id, provider, model,
           input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nusd, price_id,
           priced_at, created_at, trace_id, span_id, source)
         SELECT value->>0, ?1, '', '', '', value->>1, NULL, value->>2, value->>3, value->>4, value->>5, value->>6,
           value->>7, value->>8, value->>9, NULL, ?2, ?2, value->>10, value->>11, 'trace' FROM json_each(?3)`,
      ).bind(TEAM, now, JSON.stringify(usage)));
      const traces = [...new Set(rows.map((x) => x[0]))].map((t) => [t, "invoke_agent planner", now - 1000, now]);
      stmts.push(env.DB.prepare(
        `INSERT INTO traces (team_id, trace_id, name, service, status, started_at, ended_at, span_count, llm_calls,
           input_tokens, output_tokens, cost_nusd, created_at, updated_at)
         SELECT ?1, value->>0, value->>1, 'billing-bot', 'ok', value->>2, value->>3, 10, 5, 5170, 1605, 6172835, ?2, ?2
         FROM json_each(?3) WHERE true ON CONFLICT (team_id, trace_id) DO UPDATE SET span_count = traces.span_count + excluded.span_count`,
      ).bind(TEAM, now, JSON.stringify(traces)));
    }
    const rs = await env.DB.batch(stmts);
    const written = rs.reduce((n, r) => n + r.meta.rows_written, 0);
    return new Response(JSON.stringify({ written }), { headers: { "content-type": "application/json" } });
  },
};
