//! The results history: one row per load level of every completed run, with
//! ml-container-creator's column set, so its Athena table
//! (`mlcc_ci.benchmark_results`) and queries read our files unchanged.
//! This module holds the column list (the one source of the Parquet schema,
//! the Athena DDL and the SQL table), a row, its partition, and the facts
//! about a run that a result file alone does not carry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Database of the history table, in Athena and in the embedded engine.
pub const HISTORY_DATABASE: &str = "mlcc_ci";
/// Table name, in Athena and in the embedded engine.
pub const HISTORY_TABLE: &str = "benchmark_results";
/// Partition columns, in path order: they are not stored in the files.
pub const PARTITION_COLUMNS: [&str; 3] = ["model", "instance", "target"];

/// A column's type, as Athena names it and Parquet stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 string (`STRING`).
    Text,
    /// 32-bit signed integer (`INT`).
    Int,
    /// 64-bit float (`DOUBLE`).
    Double,
    /// Boolean (`BOOLEAN`).
    Bool,
}

impl ColumnType {
    /// The Athena (Hive DDL) type name.
    pub fn athena(self) -> &'static str {
        match self {
            Self::Text => "STRING",
            Self::Int => "INT",
            Self::Double => "DOUBLE",
            Self::Bool => "BOOLEAN",
        }
    }
}

use ColumnType::{Bool, Double, Int, Text};

/// Every stored column, in ml-container-creator's order.
pub const HISTORY_COLUMNS: &[(&str, ColumnType)] = &[
    ("project_name", Text),
    ("model_name", Text),
    ("model_family", Text),
    ("instance_type", Text),
    ("deployment_config", Text),
    ("deployment_target", Text),
    ("quantization", Text),
    ("tensor_parallel_degree", Int),
    ("instance_family", Text),
    ("gpu_count", Int),
    ("gpu_type", Text),
    ("gpu_memory_gb", Double),
    ("max_model_len", Int),
    ("enable_lora", Bool),
    ("kv_cache_dtype", Text),
    ("serving_config", Text),
    ("workload", Text),
    ("concurrency", Int),
    ("input_tokens_mean", Int),
    ("output_tokens_mean", Int),
    ("streaming", Bool),
    ("duration_seconds", Int),
    ("request_throughput_rps", Double),
    ("total_token_throughput_tps", Double),
    ("output_token_throughput_tps", Double),
    ("request_count", Double),
    ("ttft_avg_ms", Double),
    ("ttft_p50_ms", Double),
    ("ttft_p90_ms", Double),
    ("ttft_p99_ms", Double),
    ("itl_avg_ms", Double),
    ("itl_p50_ms", Double),
    ("itl_p90_ms", Double),
    ("itl_p99_ms", Double),
    ("e2e_latency_avg_ms", Double),
    ("e2e_latency_p50_ms", Double),
    ("e2e_latency_p90_ms", Double),
    ("e2e_latency_p99_ms", Double),
    ("prefill_tps_avg", Double),
    ("prefill_tps_p50", Double),
    ("output_token_tps_avg", Double),
    ("output_token_tps_p50", Double),
    ("output_token_tps_p90", Double),
    ("ttst_p50_ms", Double),
    ("ttst_p90_ms", Double),
    ("output_sequence_length_avg", Double),
    ("input_sequence_length_avg", Double),
    ("error_rate", Double),
    ("cost_per_1m_tokens", Double),
    ("benchmark_duration_sec", Double),
    ("run_type", Text),
    ("benchmark_job_name", Text),
    ("mcc_version", Text),
    ("run_timestamp", Text),
    ("region", Text),
    ("adapter_name", Text),
    ("gpu_utilization_avg", Double),
    ("gpu_utilization_max", Double),
    ("gpu_memory_used_avg_gb", Double),
    ("gpu_memory_util_avg", Double),
    ("kv_cache_util_avg", Double),
    ("kv_cache_util_max", Double),
    ("prefix_cache_hit_rate", Double),
    ("queue_depth_running_avg", Double),
    ("queue_depth_waiting_avg", Double),
    ("queue_depth_waiting_max", Double),
    ("metrics_source", Text),
    // Beyond ml-container-creator's 67: requests meeting every service-level
    // target per second, when the run had targets (null otherwise).
    ("goodput_rps", Double),
];

/// One value of a row; a column absent from a row is null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    /// A `STRING` value.
    Text(String),
    /// An `INT` value.
    Int(i32),
    /// A `DOUBLE` value.
    Double(f64),
    /// A `BOOLEAN` value.
    Bool(bool),
}

/// One row of the history: column name → value (absent = null).
pub type HistoryRow = BTreeMap<String, Cell>;

/// Where a run's rows live: `model=…/instance=…/target=…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// Model id with `/` replaced by `_`.
    pub model: String,
    /// Instance type (`ml.g5.xlarge`), or `unknown`.
    pub instance: String,
    /// Deployment target (`realtime-inference`, …), or `unknown`.
    pub target: String,
}

impl Partition {
    /// The Hive-style relative directory, `model=…/instance=…/target=…`.
    pub fn path(&self) -> String {
        format!(
            "model={}/instance={}/target={}",
            self.model, self.instance, self.target
        )
    }
}

/// Facts about a run that its results do not carry: the
/// ml-container-creator project it belongs to, what is deployed where.
/// Recorded when the run starts; every field is optional (a run against a
/// plain URL knows none of them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResultContext {
    /// `PROJECT_NAME`.
    pub project_name: Option<String>,
    /// The project directory.
    pub project_dir: Option<String>,
    /// Model id (`HF_MODEL_ID`, else `MODEL_NAME`).
    pub model_name: Option<String>,
    /// Instance type (`BENCHMARK_INSTANCE_TYPE` > `DEPLOYED_INSTANCE_TYPE` >
    /// `INSTANCE_TYPE`).
    pub instance_type: Option<String>,
    /// `DEPLOYMENT_CONFIG`.
    pub deployment_config: Option<String>,
    /// `DEPLOYMENT_TARGET`.
    pub deployment_target: Option<String>,
    /// `AWS_REGION` / `REGION`.
    pub region: Option<String>,
    /// LoRA adapter measured.
    pub adapter: Option<String>,
    /// Inference component measured.
    pub inference_component: Option<String>,
    /// `MCC_VERSION`.
    pub mcc_version: Option<String>,
    /// Serving settings (`VLLM_*` / `IC_ENV_VLLM_*` without the prefix,
    /// lower-cased: `max_model_len`, `quantization`, …).
    #[serde(default)]
    pub serving: BTreeMap<String, String>,
}

/// Where a query over the results history runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryTarget {
    /// The embedded engine over this machine's history files.
    Local,
    /// The shared Athena table.
    Athena,
}

impl QueryTarget {
    /// The target named `name` (`local` when none), or what to write instead.
    pub fn parse(name: Option<&str>) -> Result<Self, String> {
        match name.unwrap_or("local") {
            "local" => Ok(Self::Local),
            "athena" => Ok(Self::Athena),
            other => Err(format!(
                "query target {other:?} is not known; use \"local\" or \"athena\""
            )),
        }
    }

    /// The target's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Athena => "athena",
        }
    }
}
