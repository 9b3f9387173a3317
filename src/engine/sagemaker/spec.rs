//! From a run spec to SageMaker requests: the inline AIPerf workload spec of
//! each level, and the fixed job and config names of every level.

use serde_json::{json, Value};

use crate::domain::{
    CloudJob, LengthDistribution, LoadLevel, RunSpec, SageMakerPlan, SearchMode, StopCondition,
};
use crate::project::resource_name;

/// Why a run spec cannot run as SageMaker benchmark jobs.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{0}")]
pub struct Unsupported(pub String);

/// Concurrency of every level, or why the spec does not fit the service.
/// A capacity search has no fixed levels: its probes' jobs are added as it
/// goes; it searches concurrency only.
pub fn concurrencies(spec: &RunSpec) -> Result<Vec<u32>, Unsupported> {
    let missing = not_passed(spec);
    if !missing.is_empty() {
        return Err(Unsupported(format!(
            "SageMaker benchmark jobs cannot send what this run asks for: {}. Drop these (e.g. overrides turns=1, tools=false), or benchmark the endpoint with the local engine (endpoint sagemaker://ENDPOINT[/COMPONENT]), which sends them through the runtime API",
            missing.join("; ")
        )));
    }
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

/// What the run asks for that the inline AIPerf workload spec does not
/// carry (it takes token means and stddevs, concurrency, streaming, the
/// tokenizer and a request count), one phrase per field.
pub fn not_passed(spec: &RunSpec) -> Vec<String> {
    let p = &spec.prompts;
    let mut out = Vec::new();
    if let Some(s) = &spec.sessions {
        out.push(format!(
            "turns {} (multi-turn sessions with their replies in the history, think time {} ms)",
            s.turns_mean, s.think_time_ms_mean
        ));
    }
    if p.tools {
        out.push("tools (the built-in OpenAI tool set)".into());
    }
    if p.structured_output {
        out.push("structured_output (a JSON-schema response_format)".into());
    }
    if p.distribution == LengthDistribution::Lognormal {
        out.push("length_distribution lognormal (the service draws normal lengths)".into());
    }
    if !p.mixture.is_empty() {
        out.push(format!(
            "mixture of {} length shapes (one shape per job)",
            p.mixture.len()
        ));
    }
    if p.shared_prefix_tokens > 0 {
        out.push(format!(
            "shared_prefix_tokens {} (a system prompt shared by every request)",
            p.shared_prefix_tokens
        ));
    }
    if let Some(d) = &spec.dataset {
        out.push(format!("dataset {} (prompts from a file)", d.path));
    }
    if !spec.endpoint.extra_body.is_empty() {
        out.push("extra_body (extra request fields)".into());
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ApiKind, EndpointSpec};
    use crate::plan::{build, Overrides};

    fn spec(o: &Overrides) -> RunSpec {
        let endpoint = EndpointSpec {
            url: "sagemaker://ep".into(),
            api: ApiKind::Chat,
            ..EndpointSpec::default()
        };
        build("r".into(), None, endpoint, o).expect("spec")
    }

    #[test]
    fn what_the_inline_spec_cannot_carry_is_refused_field_by_field() {
        assert_eq!(concurrencies(&spec(&Overrides::none())), Ok(vec![10]));
        let o = Overrides {
            turns: Some(3),
            tools: Some(true),
            shared_prefix_tokens: Some(100),
            length_distribution: Some(LengthDistribution::Lognormal),
            ..Overrides::none()
        };
        let e = concurrencies(&spec(&o)).expect_err("refused").0;
        for field in ["turns 3", "tools", "shared_prefix_tokens 100", "lognormal"] {
            assert!(e.contains(field), "{field}: {e}");
        }
        assert!(e.contains("sagemaker://ENDPOINT"), "says how: {e}");
    }
}
