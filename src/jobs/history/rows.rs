//! A run's result → history rows (one per load level), its partition and
//! its file name, filled as ml-container-creator's results writer fills
//! them, as far as the run knows the values; the rest stay null.

use crate::domain::{
    Cell, HistoryRow, LevelMetrics, LevelResult, Partition, ResultContext, RunResult, Stats,
    StopCondition,
};

/// Partition value when a fact is unknown (a run against a plain URL).
pub const UNKNOWN: &str = "unknown";
/// ml-container-creator's default deployment target.
const DEFAULT_TARGET: &str = "realtime-inference";

/// What the rows are built from.
#[derive(Debug, Clone, Copy)]
pub struct RowSource<'a> {
    /// The finished run.
    pub result: &'a RunResult,
    /// The project facts recorded at start.
    pub context: &'a ResultContext,
    /// Engine that produced it (`local`, `sagemaker`).
    pub engine: crate::domain::Engine,
    /// Cloud job name per level (SageMaker), else empty.
    pub job_names: &'a [String],
}

impl RowSource<'_> {
    /// The model id: the project's, else the one the requests named.
    pub fn model(&self) -> String {
        self.context
            .model_name
            .clone()
            .unwrap_or_else(|| self.result.model.clone())
    }

    /// `model=…/instance=…/target=…` of this run.
    pub fn partition(&self) -> Partition {
        let target = match (&self.context.deployment_target, &self.context.project_name) {
            (Some(t), _) => t.clone(),
            (None, Some(_)) => DEFAULT_TARGET.to_owned(),
            (None, None) => UNKNOWN.to_owned(),
        };
        Partition {
            model: partition_value(&self.model().replace('/', "_")),
            instance: partition_value(self.context.instance_type.as_deref().unwrap_or(UNKNOWN)),
            target: partition_value(&target),
        }
    }

    /// `run-<project>-<YYYYmmddTHHMMSSZ>.parquet`; without a project, the
    /// run id stands in for it (so runs of the same second never collide).
    pub fn file_name(&self) -> String {
        let who = self
            .context
            .project_name
            .clone()
            .unwrap_or_else(|| self.result.run_id.clone());
        format!(
            "run-{}-{}.parquet",
            partition_value(&who),
            compact_stamp(&self.result.start_time)
        )
    }
}

/// A value safe as one path segment and a Hive partition value: `/`, `=`,
/// control characters and quotes become `_`.
fn partition_value(v: &str) -> String {
    let cleaned: String = v
        .chars()
        .map(|c| match c {
            '/' | '\\' | '=' | '\'' | '"' | '%' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    match cleaned.as_str() {
        "" | "." | ".." => UNKNOWN.to_owned(),
        _ => cleaned,
    }
}

/// RFC 3339 → `YYYYmmddTHHMMSSZ` (UTC); an unreadable time → now.
fn compact_stamp(rfc3339: &str) -> String {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|_| chrono::Utc::now());
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// One row per level.
pub fn history_rows(src: RowSource<'_>) -> Vec<HistoryRow> {
    let shared = run_columns(src);
    src.result
        .levels
        .iter()
        .enumerate()
        .map(|(i, level)| {
            let mut row = shared.clone();
            level_columns(&mut row, level);
            let job = src
                .job_names
                .get(i)
                .cloned()
                .unwrap_or_else(|| src.result.run_id.clone());
            put_text(&mut row, "benchmark_job_name", Some(job));
            row
        })
        .collect()
}

/// Columns every level of the run shares.
fn run_columns(src: RowSource<'_>) -> HistoryRow {
    let c = src.context;
    let spec = &src.result.spec;
    let mut row = HistoryRow::new();
    let model = src.model();
    put_text(&mut row, "project_name", c.project_name.clone());
    put_text(
        &mut row,
        "model_family",
        Some(model_family(&model).to_owned()),
    );
    put_text(&mut row, "model_name", Some(model));
    put_text(&mut row, "instance_type", c.instance_type.clone());
    put_text(
        &mut row,
        "instance_family",
        c.instance_type.as_deref().and_then(instance_family),
    );
    put_text(&mut row, "deployment_config", c.deployment_config.clone());
    put_text(&mut row, "deployment_target", c.deployment_target.clone());
    serving_columns(&mut row, c);
    put_text(
        &mut row,
        "workload",
        Some(spec.workload.clone().unwrap_or_else(|| "manual".into())),
    );
    put_int(
        &mut row,
        "input_tokens_mean",
        Some(u64::from(spec.prompts.input_tokens_mean)),
    );
    put_int(
        &mut row,
        "output_tokens_mean",
        Some(u64::from(spec.prompts.output_tokens_mean)),
    );
    row.insert("streaming".into(), Cell::Bool(spec.streaming));
    if let StopCondition::Duration { seconds } = spec.stop {
        put_int(&mut row, "duration_seconds", Some(seconds.round() as u64));
    }
    put_text(&mut row, "run_type", Some(src.engine.to_string()));
    put_text(&mut row, "mcc_version", c.mcc_version.clone());
    put_text(
        &mut row,
        "run_timestamp",
        Some(src.result.start_time.clone()),
    );
    put_text(&mut row, "region", c.region.clone());
    put_text(&mut row, "adapter_name", c.adapter.clone());
    let source = if src.engine == crate::domain::Engine::Sagemaker {
        "aiperf"
    } else {
        "mcc-bench"
    };
    put_text(&mut row, "metrics_source", Some(source.to_owned()));
    row
}

/// `quantization`, `tensor_parallel_degree`, `max_model_len`,
/// `kv_cache_dtype`, `enable_lora` and the whole set as `serving_config`.
fn serving_columns(row: &mut HistoryRow, c: &ResultContext) {
    let s = &c.serving;
    put_text(row, "quantization", s.get("quantization").cloned());
    put_text(row, "kv_cache_dtype", s.get("kv_cache_dtype").cloned());
    let int = |k: &str| s.get(k).and_then(|v| v.trim().parse::<u64>().ok());
    put_int(row, "tensor_parallel_degree", int("tensor_parallel_size"));
    put_int(row, "max_model_len", int("max_model_len"));
    let lora = s
        .get("enable_lora")
        .map(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
    if let Some(on) = lora.or(c.adapter.as_ref().map(|_| true)) {
        row.insert("enable_lora".into(), Cell::Bool(on));
    }
    if !s.is_empty() {
        put_text(row, "serving_config", serde_json::to_string(s).ok());
    }
}

/// Columns of one level's figures.
fn level_columns(row: &mut HistoryRow, level: &LevelResult) {
    let m = &level.metrics;
    let concurrency = level.level.concurrency().or(match level.level {
        crate::domain::LoadLevel::Rate {
            max_concurrency, ..
        } => max_concurrency,
        crate::domain::LoadLevel::Concurrency { .. } => None,
    });
    put_int(row, "concurrency", concurrency.map(u64::from));
    put_f64(row, "request_throughput_rps", Some(m.request_throughput));
    put_f64(
        row,
        "output_token_throughput_tps",
        Some(m.output_token_throughput),
    );
    let total = (m.benchmark_duration_s > 0.0)
        .then(|| (m.total_isl + m.total_osl) as f64 / m.benchmark_duration_s);
    put_f64(row, "total_token_throughput_tps", total);
    put_f64(row, "request_count", Some(m.request_count as f64));
    put_f64(row, "goodput_rps", m.goodput);
    for (prefix, suffix, stats, which) in DISTRIBUTIONS {
        put_stats(row, prefix, suffix, stats(m), which);
    }
    put_f64(
        row,
        "output_sequence_length_avg",
        m.output_sequence_length.as_ref().map(|s| s.avg),
    );
    put_f64(
        row,
        "input_sequence_length_avg",
        m.input_sequence_length.as_ref().map(|s| s.avg),
    );
    let total_requests = m.request_count + m.error_request_count;
    let error_rate =
        (total_requests > 0).then(|| m.error_request_count as f64 / total_requests as f64);
    put_f64(row, "error_rate", error_rate);
    put_f64(row, "benchmark_duration_sec", Some(m.benchmark_duration_s));
}

type StatsOf = fn(&LevelMetrics) -> Option<&Stats>;

/// Distribution columns: `<prefix>_<stat><suffix>` for each listed stat.
const DISTRIBUTIONS: [(&str, &str, StatsOf, &[&str]); 5] = [
    (
        "ttft",
        "_ms",
        |m| m.time_to_first_token.as_ref(),
        &["avg", "p50", "p90", "p99"],
    ),
    (
        "itl",
        "_ms",
        |m| m.inter_token_latency.as_ref(),
        &["avg", "p50", "p90", "p99"],
    ),
    (
        "e2e_latency",
        "_ms",
        |m| m.request_latency.as_ref(),
        &["avg", "p50", "p90", "p99"],
    ),
    // AIPerf's output token throughput per user (tokens/s of one request).
    (
        "output_token_tps",
        "",
        |m| m.output_token_throughput_per_user.as_ref(),
        &["avg", "p50", "p90"],
    ),
    (
        "ttst",
        "_ms",
        |m| m.time_to_second_token.as_ref(),
        &["p50", "p90"],
    ),
];

fn put_stats(row: &mut HistoryRow, prefix: &str, suffix: &str, s: Option<&Stats>, which: &[&str]) {
    for w in which {
        let v = s.and_then(|s| match *w {
            "avg" => Some(s.avg),
            "p50" => Some(s.p50),
            "p90" => Some(s.p90),
            "p99" => Some(s.p99),
            _ => None,
        });
        put_f64(row, &format!("{prefix}_{w}{suffix}"), v);
    }
}

fn put_text(row: &mut HistoryRow, k: &str, v: Option<String>) {
    if let Some(v) = v {
        row.insert(k.to_owned(), Cell::Text(v));
    }
}

fn put_int(row: &mut HistoryRow, k: &str, v: Option<u64>) {
    if let Some(v) = v.and_then(|v| i32::try_from(v).ok()) {
        row.insert(k.to_owned(), Cell::Int(v));
    }
}

fn put_f64(row: &mut HistoryRow, k: &str, v: Option<f64>) {
    if let Some(v) = v.filter(|v| v.is_finite()) {
        row.insert(k.to_owned(), Cell::Double(v));
    }
}

/// `ml.g5.2xlarge` → `g5`.
fn instance_family(instance: &str) -> Option<String> {
    let mut parts = instance.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("ml"), Some(fam), Some(_), None) if !fam.is_empty() => Some(fam.to_owned()),
        _ => None,
    }
}

/// The model family by ordered patterns (the first that matches wins), as
/// ml-container-creator classifies models; `other` when none does.
pub fn model_family(model: &str) -> &'static str {
    let m: String = model
        .to_ascii_lowercase()
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .collect();
    const FAMILIES: [(&str, &str); 16] = [
        ("deepseekr1", "deepseek-r1"),
        ("deepseekv3", "deepseek-v3"),
        ("deepseek", "deepseek"),
        ("qwen3", "qwen3"),
        ("qwen2", "qwen2"),
        ("codellama", "codellama"),
        ("llama3", "llama3"),
        ("llama2", "llama2"),
        ("mixtral", "mixtral"),
        ("mistral", "mistral"),
        ("phi3", "phi3"),
        ("phi2", "phi2"),
        ("gemma2", "gemma2"),
        ("falcon", "falcon"),
        ("starcoder", "starcoder"),
        ("gptoss", "gpt-oss"),
    ];
    FAMILIES
        .iter()
        .find(|(pat, _)| m.contains(pat))
        .map_or("other", |(_, family)| family)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_families_follow_the_ordered_patterns() {
        for (model, family) in [
            ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "deepseek-r1"),
            ("Qwen/Qwen3-0.6B", "qwen3"),
            ("Qwen/Qwen2.5-7B-Instruct", "qwen2"),
            ("meta-llama/Llama-3.1-8B-Instruct", "llama3"),
            ("codellama/CodeLlama-7b-hf", "codellama"),
            ("mistralai/Mixtral-8x7B-v0.1", "mixtral"),
            ("openai/gpt-oss-20b", "gpt-oss"),
            ("google/gemma-2-9b", "gemma2"),
            ("my-own-model", "other"),
        ] {
            assert_eq!(model_family(model), family, "{model}");
        }
    }

    #[test]
    fn partition_values_are_single_safe_path_segments() {
        assert_eq!(partition_value("org/name"), "org_name");
        assert_eq!(partition_value("a=b'c\"d%e"), "a_b_c_d_e");
        assert_eq!(partition_value(".."), UNKNOWN);
        assert_eq!(partition_value(""), UNKNOWN);
        assert_eq!(partition_value("ml.g5.xlarge"), "ml.g5.xlarge");
    }

    #[test]
    fn stamps_and_instance_families() {
        assert_eq!(
            compact_stamp("2026-11-29T04:47:27.123+00:00"),
            "20261129T044727Z"
        );
        assert_eq!(
            compact_stamp("2026-11-29T05:47:27+01:00"),
            "20261129T044727Z"
        );
        assert_eq!(compact_stamp("garbage").len(), 16, "unreadable → now");
        assert_eq!(instance_family("ml.g5.2xlarge").as_deref(), Some("g5"));
        assert_eq!(instance_family("g5.2xlarge"), None);
    }
}
