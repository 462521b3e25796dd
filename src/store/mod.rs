//! D1 access. [`Db`] wraps the binding with small typed helpers; [`Team`] is a database handle
//! scoped to one team, which every team-owned query takes as its first argument — so a store
//! function cannot be called without naming whose data it touches.
//!
//! - [`identity`]: users, sessions, login failures (looked up before a team is known).
//! - [`members`], [`invites`], [`tokens`], [`activity`], [`teams`], [`keys`]: team-scoped tables.
//! - [`workflows`], [`executions`]: definitions, runs, steps and the status feed; [`transitions`]:
//!   the engine's guarded moves of a run and its steps.
//! - [`schedules`]: cron schedules and the runs they claimed; [`streams`]: open live streams;
//!   [`quota`]: per-team quota counters.
//! - [`notifications`]: the team's notifications as each member sees them.
//! - [`telemetry`]: raw events and metrics; [`analytics`]: reading them back through the rollups.
//! - [`usage`], [`pricing`], [`budgets`]: LLM usage rows and their cost, the price table, budgets.
//! - [`errors`]: error issues and occurrences.
//! - [`traces`]: spans and their traces (OTLP and the engine's runs).
//! - [`cache`]: KV, for the LLM gateway's answers and the health probe.
//! - [`lifecycle`]: retention, erasure, and the team's stored rows.

pub mod activity;
pub mod analytics;
pub mod budgets;
pub mod cache;
pub mod d1;
pub mod errors;
pub mod executions;
pub mod health;
pub mod identity;
pub mod invites;
pub mod keys;
pub mod lifecycle;
pub mod members;
pub mod notifications;
pub mod outbox;
pub mod pricing;
pub mod quota;
pub mod schedules;
pub mod streams;
pub mod teams;
pub mod telemetry;
pub mod tokens;
pub mod traces;
pub mod transitions;
pub mod usage;
pub mod workflows;

use std::cell::{Cell, RefCell};

use js_sys::Reflect;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env, Result};

pub use d1::D1Result;

use crate::domain::execution::{ExecutionStatus, StepStatus};
use crate::domain::ids::{TeamId, UserId};
use crate::domain::role::Role;
use crate::domain::service::Service;

/// A value that can be bound to a D1 statement parameter.
pub trait Arg {
    fn js(&self) -> JsValue;
}

impl Arg for str {
    fn js(&self) -> JsValue {
        JsValue::from_str(self)
    }
}
impl Arg for String {
    fn js(&self) -> JsValue {
        JsValue::from_str(self)
    }
}
impl<T: Arg + ?Sized> Arg for &T {
    fn js(&self) -> JsValue {
        (**self).js()
    }
}
impl Arg for i64 {
    // D1 takes numbers as JS doubles; every integer we store is below 2^53.
    fn js(&self) -> JsValue {
        JsValue::from_f64(*self as f64)
    }
}
impl Arg for u32 {
    fn js(&self) -> JsValue {
        JsValue::from_f64(*self as f64)
    }
}
impl Arg for f64 {
    fn js(&self) -> JsValue {
        JsValue::from_f64(*self)
    }
}
/// Domain types stored as their text: ids, and enums stored by name.
macro_rules! arg_as_str {
    ($($t:ty),*) => {$(
        impl Arg for $t {
            fn js(&self) -> JsValue {
                JsValue::from_str(self.as_str())
            }
        }
    )*};
}
arg_as_str!(Role, ExecutionStatus, TeamId, UserId);
impl<T: Arg> Arg for Option<T> {
    fn js(&self) -> JsValue {
        self.as_ref().map_or(JsValue::NULL, Arg::js)
    }
}

/// `args![a, b, c]`: the bind list of a statement.
#[macro_export]
macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$($crate::store::Arg::js(&$a)),*] };
}

/// A type read from one D1 row (a JS object of column name to value). Row structs get theirs
/// from [`row!`], which reads each field by its name through [`Column`]: one small reader per
/// column type, shared by every struct. (serde's derive made a deserializer per struct, about
/// 100 KB of the wasm for some 40 structs.)
pub trait FromRow: Sized {
    fn from_row(row: &JsValue) -> Result<Self>;
}

/// A value read from one column; an error names the column when its value has the wrong type.
/// `None` for SQL NULL or a missing column, as serde read an `Option` field.
pub trait Column: Sized {
    fn from_js(value: JsValue, name: &str) -> Result<Self>;
    /// A placeholder where a column could not be read (the row is refused anyway).
    fn fallback() -> Self;
}

/// The value of column `name` in `row`.
pub fn column<T: Column>(row: &JsValue, name: &str) -> Result<T> {
    let value = Reflect::get(row, &JsValue::from_str(name))
        .map_err(|_| worker::Error::RustError(format!("D1 row: no column {name}")))?;
    T::from_js(value, name)
}

/// Reads a row's columns one by one, keeping the first error: a struct is built from every field
/// and refused afterwards, so a row type's reader has no error path per field (each one grew the
/// wasm with its own early return and drops).
pub struct Reader<'a> {
    row: &'a JsValue,
    error: Option<worker::Error>,
}

impl<'a> Reader<'a> {
    pub fn new(row: &'a JsValue) -> Reader<'a> {
        Reader { row, error: None }
    }

    /// Column `name`, or a placeholder and the error kept.
    pub fn get<T: Column>(&mut self, name: &str) -> T {
        column(self.row, name).unwrap_or_else(|e| {
            self.error.get_or_insert(e);
            T::fallback()
        })
    }

    /// `value` if every column read, else the first error.
    pub fn finish<T>(self, value: T) -> Result<T> {
        match self.error {
            None => Ok(value),
            Some(e) => Err(e),
        }
    }
}

fn wrong_type(name: &str, expected: &str) -> worker::Error {
    worker::Error::RustError(format!("D1 column {name}: expected {expected}"))
}

impl Column for String {
    fn from_js(value: JsValue, name: &str) -> Result<String> {
        value.as_string().ok_or_else(|| wrong_type(name, "text"))
    }
    fn fallback() -> String {
        String::new()
    }
}

impl Column for i64 {
    // Integers arrive as JS numbers, exact below 2^53. A larger one (a sum of costs can pass it)
    // is taken as the nearest double, off by at most a few parts in 10^16, rather than making the
    // row unreadable for good; anything not a whole number within an i64 is refused.
    fn from_js(value: JsValue, name: &str) -> Result<i64> {
        match value.as_f64() {
            Some(v) if v.fract() == 0.0 && v.abs() < 9.2e18 => Ok(v as i64),
            _ => Err(wrong_type(name, "an integer")),
        }
    }
    fn fallback() -> i64 {
        0
    }
}

impl Column for u32 {
    fn from_js(value: JsValue, name: &str) -> Result<u32> {
        let n = i64::from_js(value, name)?;
        u32::try_from(n).map_err(|_| wrong_type(name, "a count"))
    }
    fn fallback() -> u32 {
        0
    }
}

impl Column for f64 {
    fn from_js(value: JsValue, name: &str) -> Result<f64> {
        value.as_f64().ok_or_else(|| wrong_type(name, "a number"))
    }
    fn fallback() -> f64 {
        0.0
    }
}

impl<T: Column> Column for Option<T> {
    fn from_js(value: JsValue, name: &str) -> Result<Option<T>> {
        if value.is_null() || value.is_undefined() {
            return Ok(None);
        }
        T::from_js(value, name).map(Some)
    }
    fn fallback() -> Option<T> {
        None
    }
}

/// A value stored as its name, read back through its parser.
fn parsed<T>(value: JsValue, name: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T> {
    let text = String::from_js(value, name)?;
    parse(&text).ok_or_else(|| {
        worker::Error::RustError(format!("D1 column {name}: unknown value {text:?}"))
    })
}

impl Column for Role {
    fn from_js(value: JsValue, name: &str) -> Result<Role> {
        parsed(value, name, Role::parse)
    }
    fn fallback() -> Role {
        Role::Viewer
    }
}
impl Column for ExecutionStatus {
    fn from_js(value: JsValue, name: &str) -> Result<ExecutionStatus> {
        parsed(value, name, ExecutionStatus::parse)
    }
    fn fallback() -> ExecutionStatus {
        ExecutionStatus::Pending
    }
}
impl Column for StepStatus {
    fn from_js(value: JsValue, name: &str) -> Result<StepStatus> {
        parsed(value, name, StepStatus::parse)
    }
    fn fallback() -> StepStatus {
        StepStatus::Pending
    }
}
impl Column for Service {
    fn from_js(value: JsValue, name: &str) -> Result<Service> {
        parsed(value, name, |s| Service::parse(s).ok())
    }
    fn fallback() -> Service {
        Service::OpenAi
    }
}
impl Column for TeamId {
    fn from_js(value: JsValue, name: &str) -> Result<TeamId> {
        String::from_js(value, name).map(TeamId::new)
    }
    fn fallback() -> TeamId {
        TeamId::new(String::new())
    }
}
impl Column for UserId {
    fn from_js(value: JsValue, name: &str) -> Result<UserId> {
        String::from_js(value, name).map(UserId::new)
    }
    fn fallback() -> UserId {
        UserId::new(String::new())
    }
}

/// Defines a row struct and its [`FromRow`]: each field is read from the column of its name.
macro_rules! row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$field_meta:meta])* $field_vis:vis $field:ident : $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$field_meta])* $field_vis $field: $ty),*
        }

        impl $crate::store::FromRow for $name {
            fn from_row(row: &::wasm_bindgen::JsValue) -> ::worker::Result<$name> {
                let mut r = $crate::store::Reader::new(row);
                let value = $name {
                    $($field: r.get(stringify!($field))),*
                };
                r.finish(value)
            }
        }
    };
}
pub(crate) use row;

/// A row read only for whether it is there (`SELECT 1 ...`, `RETURNING 1`).
impl FromRow for () {
    fn from_row(_: &JsValue) -> Result<()> {
        Ok(())
    }
}

/// The rows of a result, each read as a `T`.
pub fn rows<T: FromRow>(result: &D1Result) -> Result<Vec<T>> {
    let mut rows = Vec::new();
    each_row(result, &mut |row| {
        rows.push(T::from_row(row)?);
        Ok(())
    })?;
    Ok(rows)
}

/// Hands each row of a result to `read`: the loop once in the wasm, not once per row type.
fn each_row(result: &D1Result, read: &mut dyn FnMut(&JsValue) -> Result<()>) -> Result<()> {
    for row in &raw_rows(result)? {
        read(row)?;
    }
    Ok(())
}

/// The first row of a result, if it has one.
pub fn first_row<T: FromRow>(result: &D1Result) -> Result<Option<T>> {
    match first_raw(result)? {
        Some(row) => T::from_row(&row).map(Some),
        None => Ok(None),
    }
}

fn first_raw(result: &D1Result) -> Result<Option<JsValue>> {
    Ok(raw_rows(result)?.into_iter().next())
}

/// The rows of a result as the JS objects D1 made.
pub fn raw_rows(result: &D1Result) -> Result<Vec<JsValue>> {
    Ok(result.rows())
}

/// A row whose `body` SQLite built as JSON (or CSV) text: aggregates and documents leave the
/// database ready to send, with no Rust type per shape (each one costs the Worker size). `n` is
/// a count beside it, where a query needs one.
#[derive(Debug, Default)]
pub struct Text {
    pub body: Option<String>,
    pub n: i64,
}

impl FromRow for Text {
    fn from_row(row: &JsValue) -> Result<Text> {
        // `n` is 0 when the query has no such column (but, as before, not when it is NULL).
        let n = Reflect::get(row, &JsValue::from_str("n")).unwrap_or_default();
        let n = if n.is_undefined() {
            0
        } else {
            i64::from_js(n, "n")?
        };
        Ok(Text {
            body: column(row, "body")?,
            n,
        })
    }
}

/// Why a caller checked late (see [`Db::guard`]) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The session or token no longer names anyone.
    SignedOut,
    /// Still signed in, but the role no longer allows what was asked.
    Forbidden(Role),
}

/// Checks a guard's result: `Ok` lets the guarded read's rows through.
pub type Verify = Box<dyn FnOnce(&D1Result) -> std::result::Result<(), Refusal>>;

/// `json_rows!("?2")`: the elements of the JSON array bound as `?2`, as a table with one column,
/// `value`, each row's text made once: `FROM json_each(?2)` makes it again for every
/// `value ->> n` a statement reads (SQLite turns the element back into text per reference), so
/// a 32-column insert rendered each row 32 times. `LIMIT -1` keeps the subquery from being
/// merged into the outer query. Measured on 100 span rows: 2.5 ms -> 1.3 ms of SQLite per
/// statement. A literal, so it fits in `const` SQL through `concat!`.
macro_rules! json_rows {
    ($param:literal) => {
        concat!("(SELECT value FROM json_each(", $param, ") LIMIT -1)")
    };
}
pub(crate) use json_rows;

/// The D1 database, counting its round trips: one request builds one `Db`, so the count is that
/// request's (logged with it, and sent as `x-d1-calls` when `DEBUG_HEADERS` is `true`).
pub struct Db {
    d1: D1Database,
    calls: Cell<u32>,
    /// Rows D1 says this request's writes wrote (index entries and trigger writes included).
    rows_written: Cell<u64>,
    /// A check (the caller's lookup) to run in the same round trip as the next read.
    guard: RefCell<Option<(D1PreparedStatement, Verify)>>,
    /// The guard's check as a statement that fails the next write batch (rolling it back) when
    /// the caller no longer holds: see [`Db::guard_write`]. Dropped when the guard runs.
    caller_must: RefCell<Option<D1PreparedStatement>>,
    /// Other statements that fail the next write batch when a limit does not hold ([`Db::must`]).
    musts: RefCell<Vec<D1PreparedStatement>>,
    refusal: Cell<Option<Refusal>>,
    quota_refused: Cell<bool>,
}

/// What a failed "must" statement names in D1's error (`migrations/0020_write_checks.sql`).
const MUST_CALLER: &str = "CHECK constraint failed: caller";
const MUST_QUOTA: &str = "CHECK constraint failed: quota";

impl Db {
    pub fn new(env: &Env) -> Result<Db> {
        Ok(Db {
            d1: env.d1("DB")?,
            calls: Cell::new(0),
            rows_written: Cell::new(0),
            guard: RefCell::new(None),
            caller_must: RefCell::new(None),
            musts: RefCell::new(Vec::new()),
            refusal: Cell::new(None),
            quota_refused: Cell::new(false),
        })
    }

    /// Runs `check` in the same round trip (and snapshot) as the next read, and hands that read's
    /// rows back only if `verify` accepts the check's result: the caller of a read is looked up
    /// and its data read in one D1 call. A write, or the end of the request ([`Db::settle`]), runs
    /// a check still pending on its own first, so nothing is written, and nothing answered, for a
    /// caller the check refuses.
    pub fn guard(&self, check: D1PreparedStatement, verify: Verify) {
        *self.guard.borrow_mut() = Some((check, verify));
    }

    /// The same check for a write: `must` (made by `identity::still_allowed`) leads the next
    /// write batch and fails it — nothing written — unless the caller's lookup still finds them
    /// with the role, so a sender seen before costs no round trip of its own. When it fails, the
    /// lookup is run on its own to tell a caller signed out (401) from one demoted (403). A read
    /// before the write still takes the guard in its own round trip.
    pub fn guard_write(
        &self,
        check: D1PreparedStatement,
        verify: Verify,
        must: D1PreparedStatement,
    ) {
        self.guard(check, verify);
        *self.caller_must.borrow_mut() = Some(must);
    }

    /// A statement to lead the next write batch, failing it when a limit does not hold (a quota:
    /// see `store::quota::must_take`).
    pub fn must(&self, statement: D1PreparedStatement) {
        self.musts.borrow_mut().push(statement);
    }

    /// Whether the last write batch was refused by a quota's "must" statement.
    pub fn quota_refused(&self) -> bool {
        self.quota_refused.get()
    }

    /// Why the guard refused the caller, if it did: the request's answer is then 401 or 403,
    /// whatever the handler made of the error it got.
    pub fn refusal(&self) -> Option<Refusal> {
        self.refusal.get()
    }

    /// Runs a pending guard on its own.
    pub async fn settle(&self) -> Result<()> {
        self.caller_must.borrow_mut().take();
        let Some((check, verify)) = self.guard.borrow_mut().take() else {
            return Ok(());
        };
        self.count_call();
        let result = d1::all(&check).await?;
        self.verified(&result, verify)
    }

    fn verified(&self, check: &D1Result, verify: Verify) -> Result<()> {
        self.tally(check)?;
        verify(check).map_err(|refusal| {
            self.refusal.set(Some(refusal));
            worker::Error::RustError("the caller was refused".into())
        })
    }

    /// Runs `statements` (reads) with a pending guard in front, in one round trip.
    async fn read(&self, mut statements: Vec<D1PreparedStatement>) -> Result<Vec<D1Result>> {
        let guard = self.guard.borrow_mut().take();
        self.caller_must.borrow_mut().take();
        self.count_call();
        let Some((check, verify)) = guard else {
            let results = d1::batch(&self.d1, statements).await?;
            return results.into_iter().map(|r| self.checked(r)).collect();
        };
        statements.insert(0, check);
        let mut results = d1::batch(&self.d1, statements).await?.into_iter();
        let check = results
            .next()
            .ok_or_else(|| worker::Error::RustError("D1: no result for the guard".into()))?;
        self.verified(&check, verify)?;
        results.map(|r| self.checked(r)).collect()
    }

    /// The first row of one read made with [`Db::stmt`].
    pub async fn first_of<T: FromRow>(&self, statement: D1PreparedStatement) -> Result<Option<T>> {
        let result = self.read(vec![statement]).await?;
        match result.first() {
            Some(r) => first_row(r),
            None => Ok(None),
        }
    }

    /// Reads in one round trip (and one snapshot), a pending guard in front.
    pub async fn read_batch(&self, statements: Vec<D1PreparedStatement>) -> Result<Vec<D1Result>> {
        self.read(statements).await
    }

    /// D1 round trips made through this handle so far.
    pub fn calls(&self) -> u32 {
        self.calls.get()
    }

    fn count_call(&self) {
        self.calls.set(self.calls.get().saturating_add(1));
    }

    /// Rows written through this handle so far, as D1 reports them (sent as
    /// `x-d1-rows-written` with `DEBUG_HEADERS`: the bench's rows-written-per-event figure).
    pub fn rows_written(&self) -> u64 {
        self.rows_written.get()
    }

    /// A result's error as an `Err`; its rows written counted.
    fn tally(&self, result: &D1Result) -> Result<()> {
        check(result)?;
        let written = result.meta("rows_written").unwrap_or(0.0) as u64;
        self.rows_written
            .set(self.rows_written.get().saturating_add(written));
        Ok(())
    }

    fn checked(&self, result: D1Result) -> Result<D1Result> {
        self.tally(&result)?;
        Ok(result)
    }

    pub fn stmt(&self, sql: &str, args: &[JsValue]) -> Result<D1PreparedStatement> {
        self.d1.prepare(sql).bind(args)
    }

    pub async fn all<T: FromRow>(&self, sql: &str, args: &[JsValue]) -> Result<Vec<T>> {
        rows(&self.query(sql, args).await?)
    }

    pub async fn first<T: FromRow>(&self, sql: &str, args: &[JsValue]) -> Result<Option<T>> {
        first_row(&self.query(sql, args).await?)
    }

    /// Runs one read (with a pending guard in front, in the same round trip).
    async fn query(&self, sql: &str, args: &[JsValue]) -> Result<D1Result> {
        if self.guard.borrow().is_some() {
            let mut results = self.read(vec![self.stmt(sql, args)?]).await?;
            return results
                .pop()
                .ok_or_else(|| worker::Error::RustError("D1: no result for the read".into()));
        }
        self.count_call();
        let result = d1::all(&self.stmt(sql, args)?).await?;
        self.tally(&result)?;
        Ok(result)
    }

    /// Runs a write; answers how many rows it changed.
    pub async fn run(&self, sql: &str, args: &[JsValue]) -> Result<usize> {
        self.settle().await?;
        self.count_call();
        let result = d1::all(&self.stmt(sql, args)?).await?;
        self.tally(&result)?;
        Ok(changes(&result))
    }

    /// The [`Text`] of a query, if it has a row.
    pub async fn text(&self, sql: &str, args: &[JsValue]) -> Result<Option<Text>> {
        self.first(sql, args).await
    }

    /// Runs statements in one round trip and one transaction: all of them or none. Pending
    /// "must" statements go first (their results are not handed back); without them a pending
    /// guard is run on its own first.
    pub async fn batch(&self, mut statements: Vec<D1PreparedStatement>) -> Result<Vec<D1Result>> {
        let caller_must = self.caller_must.borrow_mut().take();
        let mut musts = std::mem::take(&mut *self.musts.borrow_mut());
        match caller_must {
            Some(must) => musts.insert(0, must),
            None => self.settle().await?,
        }
        let leading = musts.len();
        statements.splice(0..0, musts);
        self.count_call();
        let results = match d1::batch(&self.d1, statements).await {
            Ok(results) => results,
            Err(e) => return Err(self.failed_must(e).await),
        };
        // Every must held: the caller is who the guard expected.
        self.guard.borrow_mut().take();
        for r in &results {
            self.tally(r)?;
        }
        Ok(results.into_iter().skip(leading).collect())
    }

    /// The error of a batch: a failed caller check runs the guard's lookup on its own (which
    /// records the refusal); a failed quota is recorded.
    async fn failed_must(&self, e: worker::Error) -> worker::Error {
        let text = e.to_string();
        if text.contains(MUST_CALLER) {
            if let Err(refused) = self.settle().await {
                return refused;
            }
        } else if text.contains(MUST_QUOTA) {
            self.quota_refused.set(true);
        }
        e
    }
}

fn check(result: &D1Result) -> Result<()> {
    match result.error() {
        Some(e) => Err(worker::Error::RustError(format!("D1: {e}"))),
        None => Ok(()),
    }
}

/// The database's size in bytes after a statement, where D1 reports it.
pub fn size_after(result: &D1Result) -> Option<u64> {
    result.meta("size_after").map(|n| n as u64)
}

/// Rows changed by a write.
pub fn changes(result: &D1Result) -> usize {
    result.meta("changes").unwrap_or(0.0) as usize
}

/// Whether `e` is SQLite refusing a duplicate in `constraint` (`table.column`).
pub fn is_unique_violation(e: &worker::Error, constraint: &str) -> bool {
    let text = e.to_string();
    text.contains("UNIQUE constraint failed") && text.contains(constraint)
}

/// The database, scoped to one team. Its fields are private to `store`: outside it a `Team` is
/// made only by the named constructors below, so a security review can list every place that
/// decides whose rows a query touches by grepping for them.
#[derive(Clone, Copy)]
pub struct Team<'a> {
    db: &'a Db,
    id: &'a TeamId,
}

impl<'a> Team<'a> {
    /// The authenticated caller's team (`api::extract::Caller::team` is its one user).
    pub fn of_caller(db: &'a Db, id: &'a TeamId) -> Team<'a> {
        Team { db, id }
    }

    /// A team that the request is creating or that a new member joins (sign-up, accepting an
    /// invite): there is no caller yet.
    pub fn joining(db: &'a Db, id: &'a TeamId) -> Team<'a> {
        Team { db, id }
    }

    /// The team a queue job or a cron task works for, named by the row or message it read.
    pub fn of_job(db: &'a Db, id: &'a TeamId) -> Team<'a> {
        Team { db, id }
    }

    pub fn db(&self) -> &'a Db {
        self.db
    }

    pub fn id(&self) -> &'a TeamId {
        self.id
    }
}

/// A team for work that outlives one request's borrow (an SSE stream polls with a fresh [`Db`]
/// each time): made only from a [`Team`], so it names a team that was already authorised.
#[derive(Clone)]
pub struct OwnedTeam(TeamId);

impl OwnedTeam {
    pub fn of(team: &Team) -> OwnedTeam {
        OwnedTeam(team.id.clone())
    }

    pub fn scope<'a>(&'a self, db: &'a Db) -> Team<'a> {
        Team { db, id: &self.0 }
    }
}
