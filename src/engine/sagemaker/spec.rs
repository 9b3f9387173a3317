//! From a run spec to SageMaker requests: the inline AIPerf workload spec of
//! each level, and the fixed job and config names of every level.

use serde_json::{json, Value};

use crate::domain::{CloudJob, LoadLevel, RunSpec, SageMakerPlan, SearchMode, StopCondition};
use crate::project::resource_name;

/// Why a run spec cannot run as SageMaker benchmark jobs.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct Unsupported(pub String);

/// Concurrency of every level, or why the spec does not fit the service.
/// A capacity search has no fixed levels: its probes' jobs are added as it
/// goes; it searches concurrency only.
pub fn concurrencies(spec: &RunSpec) -> Result<Vec<u32>, Unsupported> {
    if let Some(search) = &spec.capacity {
        if search.mode == SearchMode::Rate {
            return Err(Unsupported(
                "SageMaker benchmark jobs run at a fixed concurrency: search concurrency (mode concurrency), or search rates with the local engine".into(),
            ));
        }
        return Ok(Vec::new());
    }
    if let StopCondition::Duration { .. } = spec.stop {
        return Err(Unsupported(
            "SageMaker benchmark jobs stop by request count; use request_count instead of duration_s".into(),
        ));
    }
    spec.levels
        .iter()
        .map(|l| match l {
            LoadLevel::Concurrency { concurrency } => Ok(*concurrency),
            LoadLevel::Rate { .. } => Err(Unsupported(
                "SageMaker benchmark jobs run at a fixed concurrency; use concurrency or concurrency_levels instead of request_rate".into(),
            )),
        })
        .collect()
}

/// The jobs of a run: one per level, names fixed up front so a resumed
/// runner finds them.
pub fn plan_jobs(plan: &SageMakerPlan, levels: &[u32]) -> Vec<CloudJob> {
    levels
        .iter()
        .map(|&c| new_job(plan, &format!("{}-c{c}", plan.stamp), c, None))
        .collect()
}

/// The job of capacity-search probe `n` (1-based) at concurrency `c`;
/// the probe number keeps a repeated load's job apart from the first.
pub fn plan_probe(plan: &SageMakerPlan, n: u32, c: u32) -> CloudJob {
    new_job(plan, &format!("{}-p{n}-c{c}", plan.stamp), c, Some(n))
}

/// A job not created yet, its job and config names ending in `tag`.
fn new_job(plan: &SageMakerPlan, tag: &str, c: u32, probe: Option<u32>) -> CloudJob {
    CloudJob {
        concurrency: c,
        config_name: resource_name(&plan.project, &format!("benchmark-config-{tag}")),
        job_name: resource_name(&plan.project, &format!("benchmark-{tag}")),
        status: None,
        failure: None,
        downloaded: false,
        output_warnings: Vec::new(),
        probe,
    }
}

/// The inline workload spec (`WorkloadSpec.Inline`) of one level.
pub fn workload_spec(spec: &RunSpec, plan: &SageMakerPlan, concurrency: u32) -> String {
    let count = match spec.stop {
        StopCondition::Requests { count } => count,
        StopCondition::Duration { .. } => 100,
    };
    let p = &spec.prompts;
    let mut doc = json!({
        "benchmark": {"type": "aiperf"},
        "parameters": {
            "concurrency": concurrency,
            "streaming": spec.streaming,
            "tokenizer": plan.tokenizer,
            "prompt_input_tokens_mean": p.input_tokens_mean,
            "prompt_input_tokens_stddev": p.input_tokens_stddev,
            "output_tokens_mean": p.output_tokens_mean,
            "output_tokens_stddev": p.output_tokens_stddev,
            "request_count": count,
        },
        "tooling": {"api_standard": "openai"},
    });
    if let (Some(arn), Value::Object(root)) = (&plan.hf_token_arn, &mut doc) {
        root.insert("secrets".into(), json!({"hf_token": arn}));
    }
    doc.to_string()
}

/// `s3://{bucket}/{project}/`, where the service writes.
pub fn output_uri(plan: &SageMakerPlan) -> String {
    format!("s3://{}/{}/", plan.output_bucket, plan.project)
}
