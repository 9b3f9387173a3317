//! What a project says about the deployment a run measures, for the
//! results history: model, instance type, target, region, serving
//! settings — with ml-container-creator's precedence rules.

use std::path::Path;

use super::{Project, ProjectError, ShellVars};
use crate::domain::ResultContext;

/// Serving settings read from `VLLM_*` and `IC_ENV_VLLM_*` (the latter, in
/// `do/config` or the measured inference component's file, wins).
const SERVING_PREFIXES: [&str; 2] = ["VLLM_", "IC_ENV_VLLM_"];

/// The context of a run measuring the project in `dir` (its inference
/// component `ic` or `adapter`, when given).
pub fn result_context(
    dir: &Path,
    ic: Option<&str>,
    adapter: Option<&str>,
) -> Result<ResultContext, ProjectError> {
    let project = Project::load(dir)?;
    let c = &project.config;
    let get = |k: &str| c.get(k).map(str::to_owned);
    let target = project.resolve_target(ic, adapter).ok();
    let mut serving = std::collections::BTreeMap::new();
    collect_serving(c, &mut serving);
    if let Some(name) = ic {
        if let Ok((vars, _)) = project.named_conf("ic", "inference component", name) {
            collect_serving(&vars, &mut serving);
        }
    }
    Ok(ResultContext {
        project_name: get("PROJECT_NAME"),
        project_dir: Some(dir.display().to_string()),
        model_name: model_name(c),
        instance_type: [
            "BENCHMARK_INSTANCE_TYPE",
            "DEPLOYED_INSTANCE_TYPE",
            "INSTANCE_TYPE",
        ]
        .iter()
        .find_map(|k| get(k)),
        deployment_config: get("DEPLOYMENT_CONFIG"),
        deployment_target: get("DEPLOYMENT_TARGET"),
        region: get("AWS_REGION").or_else(|| get("REGION")),
        adapter: adapter.map(str::to_owned),
        inference_component: target.and_then(|t| t.inference_component),
        mcc_version: get("MCC_VERSION"),
        serving,
    })
}

/// `HF_MODEL_ID`, else `MODEL_NAME` (an `s3://` one becomes its last path
/// segment, as ml-container-creator's results writer does).
fn model_name(c: &ShellVars) -> Option<String> {
    if let Some(id) = c.get("HF_MODEL_ID") {
        return Some(id.to_owned());
    }
    let name = c.get("MODEL_NAME")?;
    match name.strip_prefix("s3://") {
        Some(rest) => rest
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        None => Some(name.to_owned()),
    }
}

fn collect_serving(vars: &ShellVars, out: &mut std::collections::BTreeMap<String, String>) {
    for prefix in SERVING_PREFIXES {
        for (k, v) in vars.with_prefix(prefix) {
            let key = k[prefix.len()..].to_ascii_lowercase();
            out.insert(key, v.to_owned());
        }
    }
}
