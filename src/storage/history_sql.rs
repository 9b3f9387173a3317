//! SQL over the local history with the embedded engine (SQLite): the
//! Parquet files under `<home>/results/` are read into one in-memory table,
//! `mlcc_ci.benchmark_results` (also reachable unqualified), with the same
//! columns and partition columns as the Athena table, so a query written
//! for one runs on the other. Only queries run: the text is parsed first
//! and anything but a single `SELECT`/`WITH`/`VALUES` query is refused, and
//! the engine's guard refuses whatever would write, attach a file, change a
//! setting or load code (`history_db`).

use std::path::Path;

use rusqlite::types::ValueRef;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlparser::ast::Statement;
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

use super::history_db::{self, Guard};
use super::history_shape::boolean_columns;

/// Why a query did not run.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The text is not a single read-only query.
    #[error("{0}")]
    NotReadOnly(String),
    /// The text does not parse, or names unknown columns or tables.
    #[error("{0}")]
    Invalid(String),
    /// The history could not be read.
    #[error("{0}")]
    Engine(String),
}

/// Bounds on one query.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QueryLimits {
    /// Statement timeout.
    pub timeout: std::time::Duration,
    /// Memory the engine may use, bytes.
    pub memory_bytes: u64,
    /// Largest answer: rows beyond it are cut and `truncated` is set.
    pub max_result_bytes: usize,
}

impl Default for QueryLimits {
    /// 30 s, 1 GiB of memory, 8 MiB of rows.
    fn default() -> Self {
        Self {
            timeout: std::time::Duration::from_secs(30),
            memory_bytes: 1 << 30,
            max_result_bytes: 8 << 20,
        }
    }
}

/// A query's answer: column names, rows as JSON objects, and whether rows
/// were cut at the limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueryRows {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// One object per row (column → value; null when absent).
    pub rows: Vec<Map<String, Value>>,
    /// True when the query returned more than `limit` rows.
    pub truncated: bool,
}

/// Deepest nesting of a query's text accepted (sub-queries, parentheses).
const MAX_SQL_NESTING: usize = 32;

/// Parses `sql` and accepts exactly one query (`SELECT`, `WITH`, `VALUES`,
/// `SHOW`-free); the message names what was found instead.
pub fn check_read_only(sql: &str) -> Result<(), QueryError> {
    parse_query(sql).map(drop)
}

/// The one query `sql` holds, or why it is refused.
fn parse_query(sql: &str) -> Result<Statement, QueryError> {
    let invalid = |e: sqlparser::parser::ParserError| {
        QueryError::Invalid(format!("the SQL does not parse: {e}"))
    };
    let mut statements = Parser::new(&GenericDialect {})
        .with_recursion_limit(MAX_SQL_NESTING)
        .try_with_sql(sql)
        .map_err(invalid)?
        .parse_statements()
        .map_err(invalid)?;
    if let [Statement::Query(_)] = statements.as_slice() {
        return Ok(statements.remove(0));
    }
    match statements.as_slice() {
        [] => Err(QueryError::Invalid(
            "the SQL is empty; pass a SELECT query".into(),
        )),
        [other] => Err(QueryError::NotReadOnly(format!(
            "only queries are allowed (SELECT / WITH …); this is a {} statement",
            statement_kind(other)
        ))),
        many => Err(QueryError::NotReadOnly(format!(
            "pass one query; found {} statements separated by `;`",
            many.len()
        ))),
    }
}

fn statement_kind(s: &Statement) -> String {
    let text = s.to_string();
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_uppercase()
}

/// Runs `sql` over the history under `home`, returning at most `limit` rows
/// and at most `limits.max_result_bytes` of them, with the engine's memory
/// capped at `limits.memory_bytes` (history and query together). The
/// statement timeout is the caller's: see `jobs::query_worker`, which runs
/// this in a process of its own because the memory cap is process-wide.
pub fn query_history(
    home: &Path,
    sql: &str,
    limit: usize,
    limits: &QueryLimits,
) -> Result<QueryRows, QueryError> {
    let statement = parse_query(sql)?;
    let (db, guard) = history_db::open(home, limits)?;
    let mut stmt = db.prepare(sql).map_err(|e| refused(&guard, &e))?;
    if !stmt.readonly() {
        return Err(QueryError::NotReadOnly(
            "only queries are allowed (SELECT / WITH …); this statement would write".into(),
        ));
    }
    let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let booleans = result_booleans(&stmt, &boolean_columns(&statement));
    let rows = stmt.query([]).map_err(|e| failed(&e, limits))?;
    let (rows, cut) = collect_rows(rows, &columns, &booleans, limit, limits)?;
    Ok(QueryRows {
        columns,
        truncated: cut,
        rows,
    })
}

/// Why a statement did not prepare: refused by the guard (named), or not
/// valid over the history (unknown column, table, function).
fn refused(guard: &Guard, e: &rusqlite::Error) -> QueryError {
    match guard.denied() {
        Some(what) => QueryError::NotReadOnly(format!(
            "only queries over the history are allowed; this one asks for {what}, which the \
             engine refuses (no writes, attached files, settings or extensions)"
        )),
        None => QueryError::Invalid(format!("the query cannot run: {e}")),
    }
}

/// A failure while the query runs, with the fix where there is one.
fn failed(e: &rusqlite::Error, limits: &QueryLimits) -> QueryError {
    use rusqlite::ErrorCode::{OutOfMemory, TooBig};
    match e.sqlite_error_code() {
        Some(OutOfMemory) => QueryError::Engine(format!(
            "the query needs more than its {} MiB of memory; narrow it (filters, LIMIT, fewer \
             or shorter strings) or ask the operator to raise --query-memory-mib",
            limits.memory_bytes >> 20
        )),
        Some(TooBig) => QueryError::Engine(format!(
            "a value in the query grew past the engine's {} MiB limit on one string; \
             build shorter strings",
            history_db::max_value_bytes(limits) >> 20
        )),
        _ => QueryError::Engine(format!("the query failed: {e}")),
    }
}

/// Which result columns are booleans: declared so in the table, or written
/// as a comparison or test in the query (the engine stores both as 0 / 1;
/// Athena answers them as booleans, and so do we).
fn result_booleans(stmt: &rusqlite::Statement<'_>, from_text: &[bool]) -> Vec<bool> {
    stmt.columns()
        .enumerate()
        .map(|(i, c)| {
            c.decl_type()
                .is_some_and(|t| t.eq_ignore_ascii_case("BOOLEAN"))
                || from_text.get(i).copied().unwrap_or(false)
        })
        .collect()
}

/// Up to `limit` rows as JSON objects, stopping before
/// `limits.max_result_bytes` of them (serialised); `true` when rows were
/// left out for either.
fn collect_rows(
    mut rows: rusqlite::Rows<'_>,
    columns: &[String],
    booleans: &[bool],
    limit: usize,
    limits: &QueryLimits,
) -> Result<(Vec<Map<String, Value>>, bool), QueryError> {
    let mut out = Vec::new();
    let mut bytes = 0usize;
    while let Some(row) = rows.next().map_err(|e| failed(&e, limits))? {
        if out.len() == limit {
            return Ok((out, true));
        }
        let mut object = Map::new();
        for (i, name) in columns.iter().enumerate() {
            let value = row.get_ref(i).map_err(|e| failed(&e, limits))?;
            let boolean = booleans.get(i).copied().unwrap_or(false);
            object.insert(name.clone(), json_value(value, boolean));
        }
        bytes += serde_json::to_string(&object).map_or(0, |t| t.len());
        if bytes > limits.max_result_bytes {
            return Ok((out, true));
        }
        out.push(object);
    }
    Ok((out, false))
}

/// A value as JSON: integers and finite floats as numbers (non-finite as
/// null), 0 / 1 as booleans in a boolean column, text as text (invalid
/// UTF-8 replaced), binary values as lowercase hex.
fn json_value(v: ValueRef<'_>, boolean: bool) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i @ (0 | 1)) if boolean => Value::Bool(i == 1),
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::from(b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_single_queries_pass_the_read_only_check() {
        assert!(check_read_only("SELECT 1").is_ok());
        assert!(check_read_only("WITH x AS (SELECT 1 AS a) SELECT a FROM x").is_ok());
        for sql in [
            "DROP TABLE mlcc_ci.benchmark_results",
            "INSERT INTO benchmark_results VALUES (1)",
            "CREATE TABLE t AS SELECT 1",
            "COPY benchmark_results TO '/tmp/x.parquet'",
            "SELECT 1; DROP TABLE benchmark_results",
            "SET statement_timeout = 0",
            "ATTACH DATABASE '/tmp/x.db' AS x",
        ] {
            let e = check_read_only(sql).expect_err(sql);
            assert!(matches!(e, QueryError::NotReadOnly(_)), "{sql}: {e}");
        }
        assert!(matches!(
            check_read_only("SELEC 1"),
            Err(QueryError::Invalid(_))
        ));
        assert!(matches!(check_read_only("  "), Err(QueryError::Invalid(_))));
    }

    fn run(sql: &str, limit: usize) -> Result<QueryRows, QueryError> {
        let home = tempfile::tempdir().expect("home");
        query_history(home.path(), sql, limit, &QueryLimits::default())
    }

    #[test]
    fn values_come_back_as_json_with_booleans_where_the_text_asks() {
        let q = run(
            "SELECT 1 > 0 AS t, 2 AS n, 0.5 AS f, X'ff00' AS b, 1e999 AS inf, 'é' AS s",
            10,
        )
        .expect("runs");
        assert_eq!(q.columns, ["t", "n", "f", "b", "inf", "s"]);
        assert_eq!(
            Value::Object(q.rows[0].clone()),
            serde_json::json!({"t": true, "n": 2, "f": 0.5, "b": "ff00", "inf": null, "s": "é"})
        );
        assert!(!q.truncated);
    }

    #[test]
    fn rows_past_the_limit_are_cut_and_flagged() {
        let sql = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) \
                   SELECT n FROM r";
        let q = run(sql, 3).expect("runs");
        assert_eq!(q.rows.len(), 3);
        assert!(q.truncated);
        assert!(!run(sql, 5).expect("runs").truncated);
    }

    #[test]
    fn the_guard_names_what_it_refused_and_unknown_names_are_invalid() {
        let e = run("SELECT load_extension('/tmp/x.so')", 1).expect_err("refused");
        assert!(
            matches!(&e, QueryError::NotReadOnly(m) if m.contains("load_extension")),
            "{e}"
        );
        let e = run("SELECT nope FROM benchmark_results", 1).expect_err("invalid");
        assert!(
            matches!(&e, QueryError::Invalid(m) if m.contains("nope")),
            "{e}"
        );
        let q = run("SELECT count(*) AS n FROM mlcc_ci.benchmark_results", 1).expect("runs");
        assert_eq!(q.rows[0]["n"], 0);
    }
}
