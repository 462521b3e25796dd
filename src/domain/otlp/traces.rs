//! What a request's spans add to their traces, so the store keeps each trace's aggregates with
//! one upsert per trace per request rather than one per span; and agents inherited from ancestors.
//!
//! The store should sum only the spans it actually inserted (not the duplicates of a retried
//! export), so [`summarize`] takes the spans to count, each with its cost.

use std::collections::HashMap;

use super::span::{Span, SpanStatus};
use crate::domain::usage::Tokens;

/// Distinct agents or models kept per trace summary.
pub const MAX_NAMES: usize = 32;
/// Ancestors walked when looking for an agent (a cycle of bad parent ids ends here too).
const MAX_DEPTH: usize = 64;

/// One trace's share of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSummary {
    pub trace_id: String,
    pub span_count: i64,
    pub llm_calls: i64,
    pub tokens: Tokens,
    /// Sum of the priced calls' costs.
    pub cost_nusd: i64,
    /// Distinct names, in order of appearance (a Vec: at most [`MAX_NAMES`]).
    pub agents: Vec<String>,
    pub models: Vec<String>,
    /// Any span has status ERROR.
    pub error: bool,
    pub start_ms: f64,
    pub end_ms: f64,
    /// The root span's name and service, when the root is among these spans.
    pub root: Option<(String, Option<String>)>,
    /// The name and service to show until the root arrives: the earliest span's.
    pub first: (String, Option<String>),
}

/// Sums spans per trace, in order of first appearance. `cost_nusd` is each span's priced cost
/// (`None`: not an LLM call, or no price row).
pub fn summarize<'a>(
    spans: impl IntoIterator<Item = (&'a Span, Option<i64>)>,
) -> Vec<TraceSummary> {
    summarize_each(&mut spans.into_iter())
}

/// [`summarize`]'s work, once in the wasm whatever its callers' iterators.
fn summarize_each(spans: &mut dyn Iterator<Item = (&Span, Option<i64>)>) -> Vec<TraceSummary> {
    let mut out: Vec<TraceSummary> = Vec::new();
    // Keyed by (trace, span) pairs like the other maps here, so they share one map type.
    let mut index: HashMap<(&str, &str), usize> = HashMap::new();
    for (span, cost) in spans {
        let at = *index.entry((&span.trace_id, "")).or_insert_with(|| {
            out.push(TraceSummary {
                trace_id: span.trace_id.clone(),
                span_count: 0,
                llm_calls: 0,
                tokens: Tokens::default(),
                cost_nusd: 0,
                agents: Vec::new(),
                models: Vec::new(),
                error: false,
                start_ms: span.start_ms,
                end_ms: span.end_ms,
                root: None,
                first: (span.name.clone(), span.service.clone()),
            });
            out.len() - 1
        });
        let t = &mut out[at];
        t.span_count += 1;
        if let Some(tokens) = &span.tokens {
            t.llm_calls += 1;
            t.tokens = add(&t.tokens, tokens);
        }
        t.cost_nusd = t.cost_nusd.saturating_add(cost.unwrap_or(0));
        if let Some(agent) = &span.agent {
            insert_bounded(&mut t.agents, agent);
        }
        if let Some(model) = span.gen_ai.model() {
            insert_bounded(&mut t.models, model);
        }
        t.error |= span.status == SpanStatus::Error;
        if span.start_ms < t.start_ms {
            t.start_ms = span.start_ms;
            t.first = (span.name.clone(), span.service.clone());
        }
        t.end_ms = t.end_ms.max(span.end_ms);
        if span.parent_span_id.is_none() {
            t.root = Some((span.name.clone(), span.service.clone()));
        }
    }
    out
}

fn insert_bounded(names: &mut Vec<String>, name: &str) {
    if names.len() < MAX_NAMES && !names.iter().any(|n| n == name) {
        names.push(name.to_string());
    }
}

fn add(a: &Tokens, b: &Tokens) -> Tokens {
    Tokens {
        input: a.input.saturating_add(b.input),
        cache_read: a.cache_read.saturating_add(b.cache_read),
        cache_write: a.cache_write.saturating_add(b.cache_write),
        output: a.output.saturating_add(b.output),
        reasoning: a.reasoning.saturating_add(b.reasoning),
    }
}

/// Gives each span without a `gen_ai.agent.name` the agent of its nearest ancestor among
/// `spans` (same trace). A span whose ancestors are not in this request keeps `None`: the store
/// looks its parent up.
pub fn inherit_agents(spans: &mut [Span]) {
    let parents = parent_indexes(spans);
    let inherited: Vec<Option<usize>> = (0..spans.len())
        .map(|i| {
            if spans[i].gen_ai.agent.is_some() {
                return None;
            }
            let mut at = i;
            for _ in 0..MAX_DEPTH {
                let parent = parents[at]?;
                if spans[parent].gen_ai.agent.is_some() {
                    return Some(parent);
                }
                at = parent;
            }
            None
        })
        .collect();
    for (i, from) in inherited.into_iter().enumerate() {
        if let Some(from) = from {
            spans[i].agent = spans[from].gen_ai.agent.clone();
        }
    }
}

/// Gives each span still without an agent the one of its nearest ancestor, where the ancestor
/// was stored by an earlier request: `stored(trace id, span id)` is that span's agent, when it
/// is stored. Run after [`inherit_agents`], on the spans about to be stored.
pub fn inherit_stored(spans: &mut [Span], stored: &dyn Fn(&str, &str) -> Option<String>) {
    let parents = parent_indexes(spans);
    for i in 0..spans.len() {
        if spans[i].agent.is_some() {
            continue;
        }
        // Up through this request's spans to the first with an agent, or the highest one.
        let mut at = i;
        for _ in 0..MAX_DEPTH {
            match parents[at] {
                Some(p) if spans[p].agent.is_some() => {
                    spans[i].agent = spans[p].agent.clone();
                    break;
                }
                Some(p) => at = p,
                None => {
                    // Its parent is not in this request: the store may have it.
                    let found = spans[at]
                        .parent_span_id
                        .as_deref()
                        .and_then(|parent| stored(&spans[at].trace_id, parent));
                    if let Some(agent) = found {
                        spans[at].agent = Some(agent.clone());
                        spans[i].agent = Some(agent);
                    }
                    break;
                }
            }
        }
    }
}

/// For each span, the index of its parent among `spans`, if there.
fn parent_indexes(spans: &[Span]) -> Vec<Option<usize>> {
    let by_id: HashMap<(&str, &str), usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| ((s.trace_id.as_str(), s.span_id.as_str()), i))
        .collect();
    spans
        .iter()
        .map(|s| {
            let parent = s.parent_span_id.as_deref()?;
            by_id.get(&(s.trace_id.as_str(), parent)).copied()
        })
        .collect()
}

/// A stored span that has no agent: (trace id, span id, parent span id, start in epoch ms).
pub trait Stored {
    fn key(&self) -> (&str, &str);
    fn parent(&self) -> Option<&str>;
    fn start_ms(&self) -> f64;
}

/// Which stored spans without an agent get one from `spans` (new, their agents known): those
/// whose nearest ancestor with an agent, through other such stored spans, is one of `spans`.
/// Answers (trace id, span id, agent, start ms) for each.
pub fn adopted<'a, S: Stored>(
    spans: &'a [Span],
    orphans: &'a [S],
) -> Vec<(&'a str, &'a str, &'a str, f64)> {
    let agents: HashMap<(&str, &str), &str> = spans
        .iter()
        .filter_map(|s| {
            Some((
                (s.trace_id.as_str(), s.span_id.as_str()),
                s.agent.as_deref()?,
            ))
        })
        .collect();
    if agents.is_empty() {
        return Vec::new();
    }
    let parents: HashMap<(&str, &str), Option<&str>> =
        orphans.iter().map(|o| (o.key(), o.parent())).collect();
    let mut out = Vec::new();
    for orphan in orphans {
        let (trace, mut at) = orphan.key();
        for _ in 0..MAX_DEPTH {
            let Some(parent) = parents.get(&(trace, at)).copied().flatten() else {
                break;
            };
            if let Some(agent) = agents.get(&(trace, parent)) {
                out.push((trace, orphan.key().1, *agent, orphan.start_ms()));
                break;
            }
            at = parent;
        }
    }
    out
}
