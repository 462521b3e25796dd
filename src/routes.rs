//! The API's route table: every method and path the router answers, each naming the [`Route`]
//! that `api::route` dispatches to a handler. Paths are written as in the OpenAPI document
//! (`docs/openapi.json`, whose `operationId`s are these variants' names), and this module is
//! pure Rust, so `cargo test --lib` holds the two against each other in both directions: no route
//! without its entry, no entry without its route.

/// One operation of the API; `api::route` matches on it exhaustively, so a variant cannot lack
/// a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Health,
    OpenApi,
    AuthSignup,
    AuthLogin,
    AuthLogout,
    AuthMe,
    AcceptInvite,
    TeamGet,
    TeamUpdate,
    MembersList,
    MemberChangeRole,
    MemberRemove,
    InvitesList,
    InviteCreate,
    InviteRevoke,
    TeamActivity,
    RetentionGet,
    RetentionPut,
    TeamErase,
    TeamStorage,
    KeysList,
    KeyCreate,
    KeyGet,
    KeyDelete,
    KeyRotate,
    KeyTest,
    KeyUsage,
    TokensUsage,
    TokensBreakdown,
    TokensExportCsv,
    PricingGet,
    PricingPut,
    BudgetsGet,
    BudgetsPut,
    ErrorsList,
    ErrorCreate,
    ErrorsStats,
    ErrorGet,
    ErrorResolve,
    ErrorReopen,
    WorkflowsList,
    WorkflowCreate,
    WorkflowGet,
    WorkflowUpdate,
    WorkflowDelete,
    WorkflowExecute,
    ExecutionsList,
    ExecutionsStream,
    ExecutionGet,
    ExecutionCancel,
    ExecutionRetry,
    SchedulesList,
    ScheduleCreate,
    SchedulesPreview,
    ScheduleGet,
    ScheduleUpdate,
    ScheduleDelete,
    ScheduleRuns,
    NotificationsList,
    NotificationsUnreadCount,
    NotificationsMarkAllRead,
    NotificationsStream,
    PreferencesGet,
    PreferencesPut,
    NotificationRead,
    NotificationUnread,
    NotificationHide,
    AccessTokensList,
    AccessTokenCreate,
    AccessTokenDelete,
    TelemetryTrack,
    TelemetryBatch,
    TelemetryMetric,
    TelemetryMetricsList,
    AnalyticsSummary,
    AnalyticsComponents,
    AnalyticsTrends,
    AnalyticsExportCsv,
    OtlpTraces,
    TracesList,
    TraceGet,
    GatewayOpenAiChat,
    GatewayOpenAiEmbeddings,
    GatewayAnthropicMessages,
}

use Route::*;

/// Every route: method, path (a `{name}` segment matches any one segment), operation. The first
/// entry that fits wins, so a literal segment (`/api/executions/stream`) comes before the
/// parameter in the same place (`/api/executions/{id}`).
pub const ROUTES: &[(&str, &str, Route)] = &[
    ("GET", "/api/health", Health),
    ("GET", "/api/openapi.json", OpenApi),
    ("POST", "/api/auth/signup", AuthSignup),
    ("POST", "/api/auth/login", AuthLogin),
    ("POST", "/api/auth/logout", AuthLogout),
    ("GET", "/api/auth/me", AuthMe),
    ("POST", "/api/auth/accept-invite", AcceptInvite),
    ("GET", "/api/team", TeamGet),
    ("PATCH", "/api/team", TeamUpdate),
    ("GET", "/api/team/members", MembersList),
    ("PATCH", "/api/team/members/{id}", MemberChangeRole),
    ("DELETE", "/api/team/members/{id}", MemberRemove),
    ("GET", "/api/team/invites", InvitesList),
    ("POST", "/api/team/invites", InviteCreate),
    ("DELETE", "/api/team/invites/{id}", InviteRevoke),
    ("GET", "/api/team/activity", TeamActivity),
    ("GET", "/api/team/retention", RetentionGet),
    ("PUT", "/api/team/retention", RetentionPut),
    ("POST", "/api/team/erase", TeamErase),
    ("GET", "/api/team/storage", TeamStorage),
    ("GET", "/api/keys", KeysList),
    ("POST", "/api/keys", KeyCreate),
    ("GET", "/api/keys/{id}", KeyGet),
    ("DELETE", "/api/keys/{id}", KeyDelete),
    ("POST", "/api/keys/{id}/rotate", KeyRotate),
    ("POST", "/api/keys/{id}/test", KeyTest),
    ("GET", "/api/keys/{id}/usage", KeyUsage),
    ("GET", "/api/tokens/usage", TokensUsage),
    ("GET", "/api/tokens/breakdown", TokensBreakdown),
    ("GET", "/api/tokens/export.csv", TokensExportCsv),
    ("GET", "/api/pricing", PricingGet),
    ("PUT", "/api/pricing", PricingPut),
    ("GET", "/api/budgets", BudgetsGet),
    ("PUT", "/api/budgets", BudgetsPut),
    ("GET", "/api/errors", ErrorsList),
    ("POST", "/api/errors", ErrorCreate),
    ("GET", "/api/errors/stats", ErrorsStats),
    ("GET", "/api/errors/{id}", ErrorGet),
    ("POST", "/api/errors/{id}/resolve", ErrorResolve),
    ("POST", "/api/errors/{id}/reopen", ErrorReopen),
    ("GET", "/api/workflows", WorkflowsList),
    ("POST", "/api/workflows", WorkflowCreate),
    ("GET", "/api/workflows/{id}", WorkflowGet),
    ("PATCH", "/api/workflows/{id}", WorkflowUpdate),
    ("DELETE", "/api/workflows/{id}", WorkflowDelete),
    ("POST", "/api/workflows/{id}/execute", WorkflowExecute),
    ("GET", "/api/executions", ExecutionsList),
    ("GET", "/api/executions/stream", ExecutionsStream),
    ("GET", "/api/executions/{id}", ExecutionGet),
    ("POST", "/api/executions/{id}/cancel", ExecutionCancel),
    ("POST", "/api/executions/{id}/retry", ExecutionRetry),
    ("GET", "/api/schedules", SchedulesList),
    ("POST", "/api/schedules", ScheduleCreate),
    ("GET", "/api/schedules/preview", SchedulesPreview),
    ("GET", "/api/schedules/{id}", ScheduleGet),
    ("PATCH", "/api/schedules/{id}", ScheduleUpdate),
    ("DELETE", "/api/schedules/{id}", ScheduleDelete),
    ("GET", "/api/schedules/{id}/runs", ScheduleRuns),
    ("GET", "/api/notifications", NotificationsList),
    (
        "GET",
        "/api/notifications/unread-count",
        NotificationsUnreadCount,
    ),
    (
        "POST",
        "/api/notifications/mark-all-read",
        NotificationsMarkAllRead,
    ),
    ("GET", "/api/notifications/stream", NotificationsStream),
    ("GET", "/api/notifications/preferences", PreferencesGet),
    ("PUT", "/api/notifications/preferences", PreferencesPut),
    ("POST", "/api/notifications/{id}/read", NotificationRead),
    ("POST", "/api/notifications/{id}/unread", NotificationUnread),
    ("DELETE", "/api/notifications/{id}", NotificationHide),
    ("GET", "/api/access-tokens", AccessTokensList),
    ("POST", "/api/access-tokens", AccessTokenCreate),
    ("DELETE", "/api/access-tokens/{id}", AccessTokenDelete),
    ("POST", "/api/telemetry/track", TelemetryTrack),
    ("POST", "/api/telemetry/batch", TelemetryBatch),
    ("POST", "/api/telemetry/metrics", TelemetryMetric),
    (
        "GET",
        "/api/telemetry/metrics/{component}",
        TelemetryMetricsList,
    ),
    ("GET", "/api/analytics/summary", AnalyticsSummary),
    ("GET", "/api/analytics/components", AnalyticsComponents),
    ("GET", "/api/analytics/trends", AnalyticsTrends),
    ("GET", "/api/analytics/export.csv", AnalyticsExportCsv),
    ("POST", "/api/otlp/v1/traces", OtlpTraces),
    ("GET", "/api/traces", TracesList),
    ("GET", "/api/traces/{trace_id}", TraceGet),
    (
        "POST",
        "/api/gateway/openai/v1/chat/completions",
        GatewayOpenAiChat,
    ),
    (
        "POST",
        "/api/gateway/openai/v1/embeddings",
        GatewayOpenAiEmbeddings,
    ),
    (
        "POST",
        "/api/gateway/anthropic/v1/messages",
        GatewayAnthropicMessages,
    ),
];

/// What the table makes of a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved<'a> {
    /// The operation, with the path's one `{name}` segment (`""` when it has none).
    Found(Route, &'a str),
    /// Some method serves this path, not this one: 405.
    MethodNotAllowed,
    /// No route has this path: 404.
    NotFound,
}

/// The path of a request's URL as the runtime serializes it (`https://host/a/b?q` → `/a/b`),
/// still percent-encoded, read without parsing the URL: a serialized URL with a host always has a
/// `/` after it, and `?` and `#` inside a path are always escaped.
pub fn path_of(url: &str) -> &str {
    let Some(host) = url.find("://").map(|i| i + 3) else {
        return "/";
    };
    let rest = &url[host..];
    let rest = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// Finds the operation for a method and a path under `/api` (a trailing `/` is ignored).
pub fn resolve<'a>(method: &str, path: &'a str) -> Resolved<'a> {
    let segments: Vec<&str> = path
        .strip_prefix("/api")
        .unwrap_or(path)
        .trim_matches('/')
        .split('/')
        .collect();
    let mut path_known = false;
    for (route_method, template, route) in ROUTES {
        let Some(param) = fit(template, &segments) else {
            continue;
        };
        if *route_method == method {
            return Resolved::Found(*route, param);
        }
        path_known = true;
    }
    if path_known {
        Resolved::MethodNotAllowed
    } else {
        Resolved::NotFound
    }
}

/// The parameter segment (or `""`) when `segments` fit `template`.
fn fit<'a>(template: &str, segments: &[&'a str]) -> Option<&'a str> {
    let mut parts = template.trim_start_matches("/api/").split('/');
    let mut param = "";
    for segment in segments {
        match parts.next()? {
            p if p.starts_with('{') => param = segment,
            p if p == *segment => {}
            _ => return None,
        }
    }
    parts.next().is_none().then_some(param)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeSet;

    #[test]
    fn the_path_is_read_from_the_serialized_url() {
        for (url, path) in [
            (
                "https://beacon.example/api/executions?limit=5",
                "/api/executions",
            ),
            (
                "http://127.0.0.1:8787/api/traces/abc#top",
                "/api/traces/abc",
            ),
            ("http://127.0.0.1:8787/api/a%3Fb?c=1", "/api/a%3Fb"),
            ("https://beacon.example", "/"),
            ("https://beacon.example/", "/"),
            ("https://beacon.example?x=/api", "/"),
            ("not a url", "/"),
        ] {
            assert_eq!(path_of(url), path, "{url}");
        }
    }

    #[test]
    fn literal_segments_win_over_parameters_and_ids_are_handed_over() {
        assert_eq!(
            resolve("GET", "/api/executions/stream"),
            Resolved::Found(ExecutionsStream, "")
        );
        assert_eq!(
            resolve("GET", "/api/executions/abc"),
            Resolved::Found(ExecutionGet, "abc")
        );
        assert_eq!(
            resolve("POST", "/api/keys/k1/rotate/"),
            Resolved::Found(KeyRotate, "k1")
        );
        assert_eq!(
            resolve("GET", "/api/telemetry/metrics/page%20load"),
            Resolved::Found(TelemetryMetricsList, "page%20load")
        );
        // A DELETE of the preview path is a DELETE of a schedule whose id is "preview" (a 404
        // from the handler), as before the table.
        assert_eq!(
            resolve("DELETE", "/api/schedules/preview"),
            Resolved::Found(ScheduleDelete, "preview")
        );
    }

    #[test]
    fn a_known_path_with_another_method_is_405_and_an_unknown_one_404() {
        assert_eq!(resolve("PUT", "/api/team"), Resolved::MethodNotAllowed);
        assert_eq!(
            resolve("POST", "/api/executions/stream"),
            Resolved::MethodNotAllowed
        );
        assert_eq!(resolve("GET", "/api/nope"), Resolved::NotFound);
        assert_eq!(resolve("GET", "/api"), Resolved::NotFound);
        assert_eq!(resolve("GET", "/api/keys/a/b"), Resolved::NotFound);
        assert_eq!(resolve("GET", "/api/team/members/x/y"), Resolved::NotFound);
    }

    #[test]
    fn every_entry_is_reachable() {
        let mut seen = BTreeSet::new();
        for (method, template, route) in ROUTES {
            assert!(
                seen.insert(format!("{route:?}")),
                "{route:?} is in the table twice"
            );
            let (path, param) = match template.split_once('{') {
                Some((head, tail)) => {
                    let rest = tail.split_once('}').map_or("", |(_, r)| r);
                    (format!("{head}p{rest}"), "p")
                }
                None => (template.to_string(), ""),
            };
            assert_eq!(
                resolve(method, &path),
                Resolved::Found(*route, param),
                "{method} {template} is shadowed by an earlier entry"
            );
        }
    }

    /// The document's operations as `METHOD path -> operationId`.
    fn documented() -> BTreeSet<String> {
        let text = include_str!("../docs/openapi.json");
        let doc: Value = serde_json::from_str(text).expect("docs/openapi.json is JSON");
        assert_eq!(doc["openapi"].as_str(), Some("3.1.0"));
        let paths = doc["paths"].as_object().expect("paths");
        let mut out = BTreeSet::new();
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("a path item") {
                if method == "parameters" {
                    continue;
                }
                let id = op["operationId"].as_str().unwrap_or("(no operationId)");
                out.insert(format!("{} {path} -> {id}", method.to_uppercase()));
            }
        }
        out
    }

    #[test]
    fn the_openapi_document_has_every_route_and_nothing_else() {
        let routed: BTreeSet<String> = ROUTES
            .iter()
            .map(|(method, path, route)| format!("{method} {path} -> {route:?}"))
            .collect();
        let documented = documented();
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(
            undocumented.is_empty() && unrouted.is_empty(),
            "routes without an entry in docs/openapi.json: {undocumented:#?}\n\
             entries in docs/openapi.json without a route (or with another operationId): {unrouted:#?}"
        );
    }
}
