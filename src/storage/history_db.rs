//! The engine's side of a history query: an in-memory SQLite database
//! holding every history file under `<home>/results/` as the table
//! `mlcc_ci.benchmark_results`, capped in memory and string length, and
//! guarded so the query can only read it.
//!
//! Lifecycle contract: the database lives for one query in one worker
//! process (`jobs::query_worker`), which exits after answering. Its memory
//! cap (`hard_heap_limit`) is process-wide: setting it in a process that
//! does other work (the server) would cap that work too. Tests and the
//! bench run several queries in one process, all with the same cap.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;

use super::history_functions;
use super::history_parquet::{read_history_file, HISTORY_DIR};
use super::history_sql::{QueryError, QueryLimits};
use super::{files_under, private_dirs, StorageError};
use crate::domain::{
    Cell, ColumnType, HistoryRow, HISTORY_COLUMNS, HISTORY_DATABASE, HISTORY_TABLE,
    PARTITION_COLUMNS,
};

/// Files read (in parallel) before their rows go into the table: only one
/// batch's rows are held outside the engine at a time, so the engine's
/// heap limit, not the process's, is what a large history meets.
const READ_BATCH: usize = 64;

/// Largest SQL text the engine accepts, bytes.
const MAX_SQL_BYTES: i32 = 1 << 20;

/// What the guard refused while a statement was prepared, for the message.
///
/// Shared between the authorizer callback (which SQLite calls on the
/// preparing thread) and the caller; the mutex only orders those two.
#[derive(Clone, Default)]
pub(super) struct Guard(Arc<Mutex<Option<String>>>);

impl Guard {
    /// The first action refused, if any.
    pub(super) fn denied(&self) -> Option<String> {
        self.0.lock().ok().and_then(|d| d.clone())
    }

    fn record(&self, what: String) {
        if let Ok(mut d) = self.0.lock() {
            d.get_or_insert(what);
        }
    }
}

/// Longest string or blob a query may build: a quarter of its memory.
pub(super) fn max_value_bytes(limits: &QueryLimits) -> u64 {
    (limits.memory_bytes / 4).clamp(1 << 20, 1 << 29)
}

/// Opens the history of `home` for one query: loaded, capped, read-only.
pub(super) fn open(home: &Path, limits: &QueryLimits) -> Result<(Connection, Guard), QueryError> {
    let dir = home.join(HISTORY_DIR);
    private_dirs(&dir).map_err(|e| {
        QueryError::Engine(format!(
            "cannot create the history directory {}: {e}",
            dir.display()
        ))
    })?;
    let db = Connection::open_in_memory().map_err(engine)?;
    db.execute_batch(&setup_sql(limits)).map_err(engine)?;
    load(&db, &dir, limits)?;
    lock_down(db, limits)
}

/// After loading: the aggregates, read-only, the limits on one query, and
/// the guard that records what it refuses.
fn lock_down(mut db: Connection, limits: &QueryLimits) -> Result<(Connection, Guard), QueryError> {
    let max_values = usize::try_from(max_value_bytes(limits) / 8).unwrap_or(usize::MAX);
    history_functions::register(&db, max_values).map_err(engine)?;
    db.execute_batch("PRAGMA query_only = ON").map_err(engine)?;
    let length = i32::try_from(max_value_bytes(limits)).unwrap_or(i32::MAX);
    for (limit, value) in [
        (Limit::SQLITE_LIMIT_LENGTH, length),
        (Limit::SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES),
        (Limit::SQLITE_LIMIT_ATTACHED, 1),
    ] {
        db.set_limit(limit, value).map_err(engine)?;
    }
    let guard = Guard::default();
    db.authorizer(Some(authorizer(guard.clone())))
        .map_err(engine)?;
    Ok((db, guard))
}

/// A failure of the engine itself while it is set up.
fn engine(e: rusqlite::Error) -> QueryError {
    QueryError::Engine(format!("the embedded engine: {e}"))
}

/// Memory cap, temporary tables in memory (never on disk), and the table.
fn setup_sql(limits: &QueryLimits) -> String {
    let columns: Vec<String> = HISTORY_COLUMNS
        .iter()
        .map(|(name, t)| format!("\"{name}\" {}", sql_type(*t)))
        .chain(PARTITION_COLUMNS.iter().map(|c| format!("\"{c}\" TEXT")))
        .collect();
    format!(
        "PRAGMA hard_heap_limit = {};
         PRAGMA temp_store = MEMORY;
         ATTACH DATABASE ':memory:' AS {HISTORY_DATABASE};
         CREATE TABLE {HISTORY_DATABASE}.{HISTORY_TABLE} ({});",
        limits.memory_bytes,
        columns.join(", ")
    )
}

/// The declared type of a column. Each gives the column the engine's
/// matching affinity (`STRING` would not: it would turn "0123" into 123);
/// `BOOLEAN` is kept as the name, so answers can report booleans.
fn sql_type(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Text => "TEXT",
        ColumnType::Int => "INTEGER",
        ColumnType::Double => "DOUBLE",
        ColumnType::Bool => "BOOLEAN",
    }
}

/// Reads every history file into the table; names every unreadable one.
fn load(db: &Connection, dir: &Path, limits: &QueryLimits) -> Result<(), QueryError> {
    let full = |e: rusqlite::Error| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::OutOfMemory) => QueryError::Engine(format!(
            "the history does not fit in the query's {} MiB of memory; ask the operator to \
             raise --query-memory-mib, or move old runs out of {}",
            limits.memory_bytes >> 20,
            dir.display()
        )),
        _ => QueryError::Engine(format!("cannot load the history: {e}")),
    };
    let tx = db.unchecked_transaction().map_err(full)?;
    let mut unreadable = Vec::new();
    {
        let mut insert = tx.prepare(&insert_sql()).map_err(full)?;
        let files = history_files(dir);
        let batches = files.chunks(READ_BATCH);
        let results = batches.flat_map(|batch| batch.iter().zip(read_all(batch)));
        for (path, read) in results {
            let rows = match read {
                Ok(rows) => rows,
                Err(reason) => {
                    unreadable.push(format!("{} ({reason})", path.display()));
                    continue;
                }
            };
            let partition = partition_values(dir, path);
            for row in &rows {
                insert
                    .execute(rusqlite::params_from_iter(row_values(row, &partition)))
                    .map_err(full)?;
            }
        }
    }
    if !unreadable.is_empty() {
        return Err(unreadable_error(dir, &unreadable));
    }
    tx.commit().map_err(full)
}

/// Every file's rows, in `files`' order, read on up to one thread per core
/// (at most 8): decoding a thousand small files is most of a query's time,
/// and each file is independent. The threads are scoped: all are joined
/// before this returns.
fn read_all(files: &[PathBuf]) -> Vec<Result<Vec<HistoryRow>, String>> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = files.len().div_ceil(threads.clamp(1, 8)).max(1);
    let read = |part: &[PathBuf]| -> Vec<Result<Vec<HistoryRow>, String>> {
        part.iter()
            .map(|p| {
                read_history_file(p).map_err(|e| match e {
                    StorageError::Read { reason, .. } => reason,
                    other => other.to_string(),
                })
            })
            .collect()
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| (part.len(), s.spawn(move || read(part))))
            .collect();
        handles
            .into_iter()
            .flat_map(|(n, h)| {
                h.join()
                    .unwrap_or_else(|_| vec![Err("the reader stopped".to_owned()); n])
            })
            .collect()
    })
}

fn insert_sql() -> String {
    let n = HISTORY_COLUMNS.len() + PARTITION_COLUMNS.len();
    let marks = vec!["?"; n].join(", ");
    format!("INSERT INTO {HISTORY_DATABASE}.{HISTORY_TABLE} VALUES ({marks})")
}

/// The `.parquet` files under `dir` (sorted by path), leaving out hidden and underscore
/// names (unfinished writes, other tools' markers).
fn history_files(dir: &Path) -> Vec<PathBuf> {
    files_under(dir)
        .into_iter()
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".parquet") && !name.starts_with('.') && !name.starts_with('_')
        })
        .collect()
}

/// The partition columns' values from the `name=value` directories between
/// `dir` and `path` (null where a level is missing).
fn partition_values(dir: &Path, path: &Path) -> Vec<Option<String>> {
    let rel = path.strip_prefix(dir).unwrap_or(path);
    let parts: Vec<&str> = rel.iter().filter_map(|c| c.to_str()).collect();
    PARTITION_COLUMNS
        .iter()
        .map(|col| {
            parts
                .iter()
                .find_map(|p| p.strip_prefix(col).and_then(|v| v.strip_prefix('=')))
                .map(str::to_owned)
        })
        .collect()
}

/// One row's values in table order: its columns, then the partition's.
fn row_values(row: &HistoryRow, partition: &[Option<String>]) -> Vec<SqlValue> {
    let cell = |c: Option<&Cell>| match c {
        Some(Cell::Text(s)) => SqlValue::Text(s.clone()),
        Some(Cell::Int(v)) => SqlValue::Integer(i64::from(*v)),
        Some(Cell::Double(v)) => SqlValue::Real(*v),
        Some(Cell::Bool(v)) => SqlValue::Integer(i64::from(*v)),
        None => SqlValue::Null,
    };
    HISTORY_COLUMNS
        .iter()
        .map(|(name, _)| cell(row.get(*name)))
        .chain(
            partition
                .iter()
                .map(|v| v.clone().map_or(SqlValue::Null, SqlValue::Text)),
        )
        .collect()
}

fn unreadable_error(dir: &Path, bad: &[String]) -> QueryError {
    QueryError::Engine(format!(
        "these history files are not readable Parquet: {} — move them out of {} (or restore \
         them) and query again",
        bad.join(", "),
        dir.display()
    ))
}

/// The guard: a query may read tables, call functions other than the ones
/// that load code or hand out pointers, and recurse; anything else
/// (writes, ATTACH, PRAGMA, transactions, schema changes) is refused and
/// recorded for the message.
fn authorizer(guard: Guard) -> impl FnMut(AuthContext<'_>) -> Authorization + Send + 'static {
    move |ctx: AuthContext<'_>| match ctx.action {
        AuthAction::Select | AuthAction::Read { .. } | AuthAction::Recursive => {
            Authorization::Allow
        }
        AuthAction::Function { function_name } if !forbidden_function(function_name) => {
            Authorization::Allow
        }
        other => {
            guard.record(format!("{other:?}"));
            Authorization::Deny
        }
    }
}

fn forbidden_function(name: &str) -> bool {
    ["load_extension", "fts3_tokenizer"]
        .iter()
        .any(|f| f.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_come_from_the_directory_names() {
        let dir = Path::new("/h/results");
        let path = dir.join("model=m1/instance=local/target=t/run.parquet");
        assert_eq!(
            partition_values(dir, &path),
            [Some("m1".into()), Some("local".into()), Some("t".into())]
        );
        assert_eq!(
            partition_values(dir, &dir.join("stray.parquet")),
            [None, None, None]
        );
    }

    #[test]
    fn the_table_has_every_history_and_partition_column() {
        let sql = setup_sql(&QueryLimits::default());
        assert!(sql.contains("\"concurrency\" INTEGER"), "{sql}");
        assert!(sql.contains("\"model\" TEXT"), "{sql}");
        assert_eq!(
            insert_sql().matches('?').count(),
            HISTORY_COLUMNS.len() + PARTITION_COLUMNS.len()
        );
    }
}
