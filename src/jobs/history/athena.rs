//! Athena for the results history: the table ml-container-creator defines
//! (`mlcc_ci.benchmark_results`, same columns, types and partitions),
//! partition registration after each upload, and read-only queries. The
//! calls go through a trait of our own; `crate::aws` implements it.

use std::future::Future;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::domain::{Partition, HISTORY_COLUMNS, HISTORY_DATABASE, HISTORY_TABLE};
use crate::engine::{CloudError, CloudErrorKind};
use crate::storage::QueryRows;

/// Result of one Athena call.
pub type AthenaResult<T> = Result<T, CloudError>;

/// Where a query runs and where Athena writes its result files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryPlace {
    /// Workgroup (`primary` by default).
    pub workgroup: String,
    /// `s3://…/` for result files; `None` = the workgroup's setting.
    pub output_location: Option<String>,
    /// Default database of the query.
    pub database: Option<String>,
}

/// A query's state, as `GetQueryExecution` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryState {
    /// Queued or running.
    Running,
    /// Finished.
    Succeeded,
    /// Failed or cancelled, with Athena's reason.
    Failed(String),
}

/// One page of `GetQueryResults`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResultPage {
    /// Column names and Athena types (`varchar`, `double`, …).
    pub columns: Vec<(String, String)>,
    /// Rows of text values (null = absent).
    pub rows: Vec<Vec<Option<String>>>,
    /// Token of the next page.
    pub next: Option<String>,
}

/// The Athena operations the history needs.
pub trait AthenaApi: Send + Sync {
    /// `StartQueryExecution`; returns the execution id.
    fn start_query(
        &self,
        sql: &str,
        place: &QueryPlace,
    ) -> impl Future<Output = AthenaResult<String>> + Send;
    /// `GetQueryExecution`.
    fn query_state(&self, id: &str) -> impl Future<Output = AthenaResult<QueryState>> + Send;
    /// `GetQueryResults`, one page.
    fn query_page(
        &self,
        id: &str,
        next: Option<String>,
    ) -> impl Future<Output = AthenaResult<ResultPage>> + Send;
}

/// How long a statement may run before it is given up on.
#[derive(Debug, Clone, Copy)]
pub struct Polling {
    /// First wait between state checks (doubling up to 2 s).
    pub first: Duration,
    /// Give up after this long.
    pub timeout: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(200),
            timeout: Duration::from_secs(300),
        }
    }
}

/// `CREATE EXTERNAL TABLE IF NOT EXISTS mlcc_ci.benchmark_results …` with
/// the history's columns, partitions and storage, located in `bucket`.
pub fn table_ddl(bucket: &str) -> String {
    let columns: Vec<String> = HISTORY_COLUMNS
        .iter()
        .map(|(name, t)| format!("  `{name}` {}", t.athena()))
        .collect();
    format!(
        "CREATE EXTERNAL TABLE IF NOT EXISTS {HISTORY_DATABASE}.{HISTORY_TABLE} (\n{}\n)\n\
         PARTITIONED BY (model STRING, instance STRING, target STRING)\n\
         ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'\n\
         STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'\n\
         OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'\n\
         LOCATION 's3://{bucket}/results/'\n\
         TBLPROPERTIES ('classification'='parquet', 'parquet.compression'='SNAPPY', 'has_encrypted_data'='false')",
        columns.join(",\n")
    )
}

/// `ALTER TABLE … ADD IF NOT EXISTS PARTITION (…) LOCATION …`.
pub fn partition_ddl(bucket: &str, p: &Partition) -> String {
    format!(
        "ALTER TABLE {HISTORY_DATABASE}.{HISTORY_TABLE} ADD IF NOT EXISTS PARTITION \
         (model='{}', instance='{}', target='{}') LOCATION 's3://{bucket}/results/{}/'",
        quote(&p.model),
        quote(&p.instance),
        quote(&p.target),
        quote(&p.path())
    )
}

fn quote(v: &str) -> String {
    v.replace('\'', "''")
}

/// Creates the database and table if missing, then registers `partition`.
/// Returns the statements run, in order.
pub async fn register_partition<A: AthenaApi>(
    api: &A,
    place: &QueryPlace,
    bucket: &str,
    partition: &Partition,
    polling: Polling,
) -> AthenaResult<Vec<String>> {
    let statements = vec![
        format!("CREATE DATABASE IF NOT EXISTS {HISTORY_DATABASE}"),
        table_ddl(bucket),
        partition_ddl(bucket, partition),
    ];
    for sql in &statements {
        run_to_completion(api, sql, place, polling).await?;
    }
    Ok(statements)
}

/// Starts `sql` and waits for it to succeed; returns the execution id.
pub async fn run_to_completion<A: AthenaApi>(
    api: &A,
    sql: &str,
    place: &QueryPlace,
    polling: Polling,
) -> AthenaResult<String> {
    let id = api.start_query(sql, place).await?;
    let started = tokio::time::Instant::now();
    let mut wait = polling.first;
    loop {
        match api.query_state(&id).await? {
            QueryState::Succeeded => return Ok(id),
            QueryState::Failed(reason) => {
                return Err(CloudError::new(
                    "StartQueryExecution",
                    CloudErrorKind::Validation,
                    format!("query {id} failed: {reason}"),
                ))
            }
            QueryState::Running if started.elapsed() >= polling.timeout => {
                return Err(CloudError::new(
                    "GetQueryExecution",
                    CloudErrorKind::Other,
                    format!(
                        "query {id} still running after {} s; given up on",
                        polling.timeout.as_secs()
                    ),
                ))
            }
            QueryState::Running => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// Runs a read-only query on Athena and returns at most `limit` rows,
/// typed by Athena's column types (the header row Athena puts first in a
/// SELECT's results is dropped).
pub async fn query<A: AthenaApi>(
    api: &A,
    sql: &str,
    place: &QueryPlace,
    limit: usize,
    polling: Polling,
) -> AthenaResult<QueryRows> {
    let id = run_to_completion(api, sql, place, polling).await?;
    let mut page = api.query_page(&id, None).await?;
    let columns = page.columns.clone();
    let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
    let mut raw = std::mem::take(&mut page.rows);
    if raw.first().is_some_and(|r| is_header(r, &names)) {
        raw.remove(0);
    }
    while raw.len() <= limit {
        let Some(next) = page.next.take() else { break };
        page = api.query_page(&id, Some(next)).await?;
        raw.append(&mut page.rows);
    }
    let truncated = raw.len() > limit || page.next.is_some();
    raw.truncate(limit);
    let rows = raw.iter().map(|r| typed_row(r, &columns)).collect();
    Ok(QueryRows {
        columns: names,
        rows,
        truncated,
    })
}

fn is_header(row: &[Option<String>], names: &[String]) -> bool {
    !names.is_empty()
        && row.len() == names.len()
        && row
            .iter()
            .zip(names)
            .all(|(v, n)| v.as_deref() == Some(n.as_str()))
}

fn typed_row(row: &[Option<String>], columns: &[(String, String)]) -> Map<String, Value> {
    columns
        .iter()
        .enumerate()
        .map(|(i, (name, t))| {
            let v = row.get(i).cloned().flatten();
            (name.clone(), typed(v, t))
        })
        .collect()
}

fn typed(v: Option<String>, athena_type: &str) -> Value {
    let Some(v) = v else { return Value::Null };
    let t = athena_type.to_ascii_lowercase();
    let number = match t.as_str() {
        "tinyint" | "smallint" | "integer" | "int" | "bigint" => {
            v.parse::<i64>().ok().map(Value::from)
        }
        "double" | "float" | "real" => v
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        "boolean" => v.parse::<bool>().ok().map(Value::Bool),
        _ => None,
    };
    number.unwrap_or(Value::String(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ddl_lists_every_column_with_its_athena_type_and_the_partitions() {
        let ddl = table_ddl("results-bucket");
        for (name, t) in HISTORY_COLUMNS {
            assert!(ddl.contains(&format!("`{name}` {}", t.athena())), "{name}");
        }
        assert!(ddl.contains("PARTITIONED BY (model STRING, instance STRING, target STRING)"));
        assert!(ddl.contains("LOCATION 's3://results-bucket/results/'"));
        assert!(ddl.starts_with("CREATE EXTERNAL TABLE IF NOT EXISTS mlcc_ci.benchmark_results ("));
    }

    #[test]
    fn partition_statement_quotes_values() {
        let p = Partition {
            model: "o'brien_m".into(),
            instance: "ml.g5.xlarge".into(),
            target: "realtime-inference".into(),
        };
        let sql = partition_ddl("b", &p);
        assert!(sql.contains("model='o''brien_m'"), "{sql}");
        assert!(sql.ends_with("LOCATION 's3://b/results/model=o''brien_m/instance=ml.g5.xlarge/target=realtime-inference/'"), "{sql}");
    }

    #[test]
    fn athena_text_values_are_typed_by_column_type() {
        assert_eq!(typed(Some("8".into()), "integer"), Value::from(8));
        assert_eq!(typed(Some("1.5".into()), "double"), Value::from(1.5));
        assert_eq!(typed(Some("true".into()), "boolean"), Value::Bool(true));
        assert_eq!(typed(Some("x".into()), "varchar"), Value::from("x"));
        assert_eq!(typed(Some("NaN?".into()), "double"), Value::from("NaN?"));
        assert_eq!(typed(None, "double"), Value::Null);
    }
}
