//! SQL over the local history with the embedded engine (DataFusion): the
//! Parquet files under `<home>/results/` are one table,
//! `mlcc_ci.benchmark_results` (also reachable unqualified), with the same
//! columns and partition columns as the Athena table, so a query written
//! for one runs on the other. Only queries run: the text is parsed first
//! and anything but a single `SELECT`/`WITH`/`VALUES` query is refused,
//! and the engine itself is told to refuse DDL, DML and statements.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, BooleanArray, Float64Array, Int64Array, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion::catalog::MemorySchemaProvider;
use datafusion::execution::cache::cache_manager::CacheManagerConfig;
use datafusion::execution::context::SQLOptions;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use datafusion::sql::sqlparser::ast::Statement;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::files_under;
use super::history_parquet::{history_schema, HISTORY_DIR};
use crate::domain::{HISTORY_DATABASE, HISTORY_TABLE, PARTITION_COLUMNS};

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
    let invalid = |e: datafusion::sql::sqlparser::parser::ParserError| {
        QueryError::Invalid(format!("the SQL does not parse: {e}"))
    };
    let statements = Parser::new(&GenericDialect {})
        .with_recursion_limit(MAX_SQL_NESTING)
        .try_with_sql(sql)
        .map_err(invalid)?
        .parse_statements()
        .map_err(invalid)?;
    match statements.as_slice() {
        [Statement::Query(_)] => Ok(()),
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
/// capped at `limits.memory_bytes`. (The statement timeout is the caller's:
/// see `jobs::query_worker`.)
pub async fn query_history(
    home: &Path,
    sql: &str,
    limit: usize,
    limits: &QueryLimits,
) -> Result<QueryRows, QueryError> {
    check_read_only(sql)?;
    let ctx = history_context(home, limits.memory_bytes).await?;
    let options = SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false);
    let df = ctx
        .sql_with_options(sql, options)
        .await
        .map_err(|e| QueryError::Invalid(format!("the query cannot run: {e}")))?;
    let df = df
        .limit(0, Some(limit.saturating_add(1)))
        .map_err(|e| QueryError::Engine(e.to_string()))?;
    let columns: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let batches = df
        .collect()
        .await
        .map_err(|e| failed(home, &e.to_string()))?;
    let (mut rows, cut) = batch_rows(&batches, &columns, limits.max_result_bytes)?;
    let truncated = cut || rows.len() > limit;
    rows.truncate(limit);
    Ok(QueryRows {
        columns,
        rows,
        truncated,
    })
}

/// A failed query's message; when a history file is unreadable, it is named
/// with the fix (the engine's own message does not say which file).
fn failed(home: &Path, reason: &str) -> QueryError {
    let bad = unreadable_files(&home.join(HISTORY_DIR));
    if bad.is_empty() {
        return QueryError::Engine(format!("the query failed: {reason}"));
    }
    let names: Vec<String> = bad.iter().map(|p| p.display().to_string()).collect();
    QueryError::Engine(format!(
        "the query failed: {reason}; these history files are not readable Parquet: {} — move them out of {} (or restore them) and query again",
        names.join(", "),
        home.join(HISTORY_DIR).display()
    ))
}

/// `.parquet` files under `dir` whose footer cannot be read.
fn unreadable_files(dir: &Path) -> Vec<std::path::PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "parquet") && !readable(p))
        .collect()
}

fn readable(path: &Path) -> bool {
    std::fs::File::open(path)
        .ok()
        .and_then(|f| parquet::file::reader::SerializedFileReader::new(f).ok())
        .is_some()
}

/// A session with the history registered as `mlcc_ci.benchmark_results`
/// and `benchmark_results`.
async fn history_context(home: &Path, memory_bytes: u64) -> Result<SessionContext, QueryError> {
    let dir = home.join(HISTORY_DIR);
    super::private_dirs(&dir).map_err(|e| {
        QueryError::Engine(format!(
            "cannot create the history directory {}: {e}",
            dir.display()
        ))
    })?;
    let ctx = SessionContext::new_with_config_rt(session_config(), runtime(memory_bytes)?);
    let catalog = ctx
        .catalog("datafusion")
        .ok_or_else(|| QueryError::Engine("the embedded engine has no default catalog".into()))?;
    catalog
        .register_schema(HISTORY_DATABASE, Arc::new(MemorySchemaProvider::new()))
        .map_err(|e| QueryError::Engine(e.to_string()))?;
    let schema = history_schema();
    let partitions: Vec<(String, DataType)> = PARTITION_COLUMNS
        .iter()
        .map(|c| ((*c).to_owned(), DataType::Utf8))
        .collect();
    let url = format!("{}/", dir.display());
    for name in [
        format!("{HISTORY_DATABASE}.{HISTORY_TABLE}"),
        HISTORY_TABLE.to_owned(),
    ] {
        let options = ParquetReadOptions::default()
            .schema(&schema)
            .file_extension(".parquet")
            .table_partition_cols(partitions.clone());
        ctx.register_parquet(name.as_str(), &url, options)
            .await
            .map_err(|e| QueryError::Engine(format!("cannot read the history in {url}: {e}")))?;
    }
    Ok(ctx)
}

/// The engine's runtime for one query. Its Parquet footer cache is off: over
/// a history of a thousand small files, keeping the decoded footers cached
/// measured slower than decoding them again (`docs/benchmarks.md`). File
/// listings are not cached either: a run that lands between two queries
/// must show up. Operators that track their memory stop with a clear error
/// past `memory_bytes`.
fn runtime(memory_bytes: u64) -> Result<Arc<RuntimeEnv>, QueryError> {
    let caches = CacheManagerConfig::default()
        .with_list_files_cache_limit(0)
        .with_metadata_cache_limit(0);
    RuntimeEnvBuilder::new()
        .with_cache_manager(caches)
        .with_memory_limit(usize::try_from(memory_bytes).unwrap_or(usize::MAX), 1.0)
        .build_arc()
        .map_err(|e| QueryError::Engine(format!("the embedded engine cannot start: {e}")))
}

/// History files are small (one row group of a few rows each): page indexes
/// and planning-time statistics cost a read per file and prune nothing, and
/// opening many files at once (at least 16 streams) overlaps their reads even
/// on two cores.
fn session_config() -> SessionConfig {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let mut config = SessionConfig::new()
        .with_collect_statistics(false)
        .with_target_partitions(cores.max(16));
    config.options_mut().execution.parquet.enable_page_index = false;
    config
}

/// The rows of `batches` as JSON objects, stopping before `max_bytes` of
/// them (serialised); `true` when rows were left out for that.
fn batch_rows(
    batches: &[RecordBatch],
    columns: &[String],
    max_bytes: usize,
) -> Result<(Vec<Map<String, Value>>, bool), QueryError> {
    let mut rows = Vec::new();
    let mut bytes = 0usize;
    for batch in batches {
        let converted: Vec<Vec<Value>> = batch
            .columns()
            .iter()
            .map(|c| column_values(c.as_ref()))
            .collect::<Result<_, _>>()?;
        for i in 0..batch.num_rows() {
            let row: Map<String, Value> = columns
                .iter()
                .zip(&converted)
                .map(|(name, values)| (name.clone(), values[i].clone()))
                .collect();
            bytes += serde_json::to_string(&row).map_or(0, |t| t.len());
            if bytes > max_bytes {
                return Ok((rows, true));
            }
            rows.push(row);
        }
    }
    Ok((rows, false))
}

/// A column as JSON values: integers, floats and booleans as numbers and
/// booleans (non-finite floats as null), everything else as its text.
fn column_values(col: &dyn Array) -> Result<Vec<Value>, QueryError> {
    let as_type = |t: &DataType| {
        cast(col, t).map_err(|e| QueryError::Engine(format!("cannot convert a result column: {e}")))
    };
    let t = col.data_type();
    let values: Vec<Option<Value>> = if t.is_integer() {
        let a = as_type(&DataType::Int64)?;
        let a = downcast::<Int64Array>(a.as_ref())?;
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| Value::from(a.value(i))))
            .collect()
    } else if t.is_floating() || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..)) {
        let a = as_type(&DataType::Float64)?;
        let a = downcast::<Float64Array>(a.as_ref())?;
        (0..a.len())
            .map(|i| {
                a.is_valid(i)
                    .then(|| a.value(i))
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
            })
            .collect()
    } else if t == &DataType::Boolean {
        let a = downcast::<BooleanArray>(col)?;
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| Value::Bool(a.value(i))))
            .collect()
    } else {
        let a = as_type(&DataType::Utf8)?;
        let a = downcast::<StringArray>(a.as_ref())?;
        (0..a.len())
            .map(|i| a.is_valid(i).then(|| Value::from(a.value(i))))
            .collect()
    };
    Ok(values
        .into_iter()
        .map(|v| v.unwrap_or(Value::Null))
        .collect())
}

fn downcast<T: 'static>(a: &dyn Array) -> Result<&T, QueryError> {
    a.as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| QueryError::Engine("unexpected result column type".into()))
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
            "SET datafusion.execution.batch_size = 1",
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
}
