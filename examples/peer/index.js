// The peer of `make bench`: the routes the bench times, written the way a user would write them
// without Beacon: a plain JavaScript Worker on the same D1 tables, no rollups, no framework (a
// router would only add to its time). Each request looks its caller up first (a session cookie
// or an access token, stored as SHA-256 like Beacon's) and then reads or writes, so an
// authenticated request is two D1 round trips, the usual shape. It answers what the bench reads
// (the same status codes and the fields it checks) and reports its D1 round trips and rows
// written in the same debug headers Beacon sends. Not a product: no validation beyond what the
// bench sends, no roles. Its LLM gateway route calls the provider named by its PROVIDER_URL and
// PROVIDER_KEY vars (the bench points them at the stand-in provider).

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

// Each request's D1 round trips and rows written (requests interleave in one isolate).
class Meter {
  calls = 0;
  written = 0;
  async d1(promise) {
    const result = await promise;
    this.calls += 1;
    for (const r of Array.isArray(result) ? result : [result]) this.written += r?.meta?.rows_written ?? 0;
    return result;
  }
  json(status, body) {
    return new Response(JSON.stringify(body), {
      status,
      headers: {
        "content-type": "application/json",
        "x-d1-calls": String(this.calls),
        "x-d1-rows-written": String(this.written),
      },
    });
  }
}

async function sha256hex(text) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function caller(m, req, env) {
  const cookie = /(?:^|;\s*)beacon_session=([^;]+)/.exec(req.headers.get("cookie") ?? "");
  const bearer = /^Bearer (.+)$/.exec(req.headers.get("authorization") ?? "");
  const columns = "u.id AS user_id, u.email, u.name, u.role, u.team_id, t.name AS team_name";
  if (cookie) {
    const sql = `SELECT ${columns} FROM sessions s JOIN users u ON u.id = s.user_id
      JOIN teams t ON t.id = u.team_id WHERE s.token_hash = ? AND s.expires_at > ?`;
    return m.d1(env.DB.prepare(sql).bind(await sha256hex(cookie[1]), Date.now()).first());
  }
  if (bearer) {
    const sql = `SELECT ${columns} FROM access_tokens k JOIN users u ON u.id = k.user_id
      JOIN teams t ON t.id = u.team_id
      WHERE k.token_hash = ? AND (k.expires_at IS NULL OR k.expires_at > ?)`;
    return m.d1(env.DB.prepare(sql).bind(await sha256hex(bearer[1]), Date.now()).first());
  }
  return null;
}

const RANGES = { "24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY, "90d": 90 * DAY };

async function summary(m, env, team, url) {
  const length = RANGES[url.searchParams.get("range") ?? "7d"] ?? 7 * DAY;
  const to = Date.now();
  const period = (from, to) =>
    env.DB.prepare(
      `SELECT (SELECT COUNT(*) FROM events WHERE team_id = ?1 AND ts >= ?2 AND ts < ?3) AS actions,
        (SELECT COUNT(DISTINCT user_id) FROM events WHERE team_id = ?1 AND ts >= ?2 AND ts < ?3) AS unique_users,
        (SELECT COUNT(DISTINCT session_id) FROM events WHERE team_id = ?1 AND ts >= ?2 AND ts < ?3) AS sessions,
        (SELECT COUNT(*) FROM executions WHERE team_id = ?1 AND created_at >= ?2 AND created_at < ?3) AS executions,
        (SELECT COUNT(*) FROM executions WHERE team_id = ?1 AND created_at >= ?2 AND created_at < ?3
           AND status = 'succeeded') AS succeeded,
        (SELECT IFNULL(SUM(input_tokens + cache_read_tokens + cache_write_tokens + output_tokens + reasoning_tokens), 0)
           FROM llm_usage WHERE team_id = ?1 AND created_at >= ?2 AND created_at < ?3) AS tokens,
        (SELECT IFNULL(SUM(cost_nusd), 0) FROM llm_usage
           WHERE team_id = ?1 AND created_at >= ?2 AND created_at < ?3) AS cost_nusd`,
    ).bind(team, from, to);
  const [current, previous] = await m.d1(
    env.DB.batch([period(to - length, to), period(to - 2 * length, to - length)]),
  );
  const shape = (r) => {
    const { succeeded, cost_nusd, ...rest } = r.results[0];
    return {
      ...rest,
      success_rate: rest.executions ? succeeded / rest.executions : null,
      cost_usd: cost_nusd / 1e9,
    };
  };
  return m.json(200, { range: { from: to - length, to }, current: shape(current), previous: shape(previous) });
}

const SHOWN = `id, workflow_id, workflow_name, workflow_version, status, error, retry_of, schedule_id,
  created_at, started_at, completed_at`;

function shown(row) {
  return { ...row, trace_id: row.id.replaceAll("-", ""), error: row.error ? JSON.parse(row.error) : null };
}

async function executions(m, env, team, url) {
  const status = url.searchParams.get("status");
  const stmt = env.DB.prepare(
    `SELECT ${SHOWN} FROM executions WHERE team_id = ?1 AND (?2 IS NULL OR status = ?2)
     ORDER BY id DESC LIMIT 51`,
  ).bind(team, status);
  const { results } = await m.d1(stmt.all());
  const page = results.slice(0, 50);
  const next = results.length > 50 ? btoa(page[page.length - 1].id) : null;
  return m.json(200, { data: page.map(shown), next_cursor: next });
}

async function execution(m, env, team, id) {
  const [found, steps] = await m.d1(
    env.DB.batch([
      env.DB.prepare(`SELECT ${SHOWN}, input FROM executions WHERE team_id = ? AND id = ?`).bind(team, id),
      env.DB.prepare(
        `SELECT s.* FROM execution_steps s JOIN executions e ON e.id = s.execution_id
         WHERE e.team_id = ? AND s.execution_id = ? ORDER BY s.position`,
      ).bind(team, id),
    ]),
  );
  const row = found.results[0];
  if (!row) return m.json(404, { error: { code: "not_found", message: "no such execution" } });
  return m.json(200, { ...shown(row), input: JSON.parse(row.input ?? "null"), steps: steps.results });
}

async function ingest(m, req, env, team) {
  const body = await req.json();
  const now = Date.now();
  const rows = body.events.map((e) => [
    e.id ?? crypto.randomUUID(),
    e.component,
    e.action,
    e.user_id ?? null,
    e.session_id ?? null,
    e.properties ? JSON.stringify(e.properties) : null,
    typeof e.timestamp === "number" ? e.timestamp : now,
  ]);
  const result = await m.d1(
    env.DB.prepare(
      `INSERT INTO events (team_id, id, component, action, user_id, session_id, properties, ts, received_at)
       SELECT ?1, value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, ?2
       FROM json_each(?3) WHERE true ON CONFLICT (team_id, id) DO NOTHING`,
    ).bind(team, now, JSON.stringify(rows)).run(),
  );
  const accepted = result.meta.changes;
  return m.json(200, { accepted, duplicates: rows.length - accepted, rejected: [] });
}

// The LLM gateway as a user would write it without Beacon: the caller looked up, the provider
// called with the one key the Worker holds (its PROVIDER_URL and PROVIDER_KEY vars, the
// provider's answer passed back as it came), and a usage row written after the answer (in
// waitUntil) with the tokens the provider reported. No vault, budget, price, cache or trace.
async function gateway(m, req, env, ctx, who) {
  const body = await req.text();
  const reply = await fetch(`${env.PROVIDER_URL}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${env.PROVIDER_KEY}` },
    body,
  });
  const answer = await reply.text();
  const model = JSON.parse(body).model ?? "";
  ctx.waitUntil(
    (async () => {
      let usage = {};
      try {
        usage = JSON.parse(answer).usage ?? {};
      } catch {}
      await env.DB.prepare(
        `INSERT INTO llm_usage (id, team_id, execution_id, workflow_id, step_id, provider, model, input_tokens,
           cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, created_at, source)
         VALUES (?, ?, '', '', '', 'openai', ?, ?, 0, 0, ?, 0, ?, 'gateway')`,
      )
        .bind(crypto.randomUUID(), who.team_id, model, usage.prompt_tokens ?? 0, usage.completion_tokens ?? 0, Date.now())
        .run();
    })(),
  );
  return new Response(answer, {
    status: reply.status,
    headers: { "content-type": reply.headers.get("content-type") ?? "application/json", "x-d1-calls": String(m.calls) },
  });
}

export default {
  async fetch(req, env, ctx) {
    const m = new Meter();
    const url = new URL(req.url);
    if (url.pathname === "/api/health") return m.json(200, { status: "ok" });
    const who = await caller(m, req, env);
    if (!who) return m.json(401, { error: { code: "unauthorized", message: "sign in first" } });
    const team = who.team_id;
    const path = url.pathname;
    if (req.method === "POST" && path === "/api/telemetry/batch") return ingest(m, req, env, team);
    if (req.method === "POST" && path === "/api/gateway/openai/v1/chat/completions") return gateway(m, req, env, ctx, who);
    if (req.method !== "GET") return m.json(405, { error: { code: "method_not_allowed", message: "" } });
    if (path === "/api/auth/me") return m.json(200, { user: who });
    if (path === "/api/analytics/summary") return summary(m, env, team, url);
    if (path === "/api/executions") return executions(m, env, team, url);
    const one = /^\/api\/executions\/([^/]+)$/.exec(path);
    if (one) return execution(m, env, team, one[1]);
    return m.json(404, { error: { code: "not_found", message: "no such route" } });
  },
};
