//! `start_benchmark`: picks the engine (local or SageMaker), reuses an
//! active run for the same target and workload unless forced, and records
//! the new run.

use std::path::Path;

use super::allowed::allowed_dir;
use super::params::*;
use super::server::Shared;
use super::tool_error::{tool_err, ToolError};
use crate::domain::{
    ApiKind, CapacitySearch, EndpointSpec, KeyChoice, SearchMode, SecretHeaders, ServerPolicy,
    TlsSpec, WorkloadProfile,
};
use crate::jobs::{new_run_id, Jobs};
use crate::plan::{self, choose_engine, EngineChoice, EngineRequest, Overrides};

pub(crate) fn start(
    shared: &Shared,
    mut a: StartArgs,
    capacity: Option<CapacitySearch>,
) -> Result<Started, ToolError> {
    let profile = a
        .workload
        .as_deref()
        .map(|w| shared.catalog.get(w).map_err(|e| e.to_string()))
        .transpose()?;
    if let Some(d) = &a.project_dir {
        let dir = allowed_dir(shared, d, "project_dir")?;
        a.project_dir = Some(dir.display().to_string());
    }
    let jobs = &shared.jobs;
    match engine_of(shared, &a)? {
        EngineChoice::Local(url) => {
            let endpoint = match a.endpoint.clone() {
                Some(e) => e,
                None => Endpoint {
                    url,
                    ..Endpoint::default()
                },
            };
            let api_key = credential(&shared.policy, &endpoint)?;
            start_local(jobs, profile, endpoint, api_key, a, capacity)
        }
        EngineChoice::SageMaker(dir) => start_sagemaker(jobs, profile, &dir, a, capacity),
    }
}

/// The bearer token the endpoint may receive from the server's environment
/// (`endpoint.api_key_env`, or the operator's default for an allowed URL).
fn credential(policy: &ServerPolicy, ep: &Endpoint) -> Result<Option<String>, ToolError> {
    if ep.url.trim().eq_ignore_ascii_case("sim") {
        return Ok(None);
    }
    match policy.key_for(ep.url.trim(), ep.api_key_env.as_deref())? {
        KeyChoice::None => Ok(None),
        KeyChoice::Env(var) => match std::env::var(&var).ok().filter(|v| !v.is_empty()) {
            Some(v) => Ok(Some(v)),
            None if ep.api_key_env.is_some() => Err(tool_err!(
                "the credential {var:?} is not set in the server's environment"
            )),
            None => Ok(None),
        },
    }
}

/// The engine asked for, or the default (`plan::choose_engine`, shared
/// with the shell); the project is `project_dir`, else the server's
/// working directory.
fn engine_of(shared: &Shared, a: &StartArgs) -> Result<EngineChoice, ToolError> {
    let dir = match (&a.project_dir, &shared.cwd) {
        (Some(d), _) => std::path::PathBuf::from(d),
        (None, Some(cwd)) => cwd.clone(),
        (None, None) => {
            return Err(tool_err!(
                "the server has no default project (its working directory cannot be read); give project_dir"
            ))
        }
    };
    let engine = match a.engine.as_deref() {
        None => None,
        Some(name) => match crate::domain::Engine::parse(name) {
            Some(e @ (crate::domain::Engine::Local | crate::domain::Engine::Sagemaker)) => Some(e),
            _ => {
                return Err(tool_err!(
                    "engine {name:?} is not known; use \"local\" or \"sagemaker\""
                ))
            }
        },
    };
    let req = EngineRequest {
        engine,
        endpoint: a.endpoint.as_ref().map(|e| e.url.as_str()),
        ic: a.ic.as_deref(),
        adapter: a.adapter.as_deref(),
    };
    Ok(choose_engine(req, &dir)?)
}

/// An active run for the same target and workload, unless `force`.
fn reusable(
    jobs: &Jobs,
    target: &str,
    workload: &Option<String>,
    force: bool,
) -> Result<Option<Started>, ToolError> {
    if force {
        return Ok(None);
    }
    Ok(jobs
        .list()?
        .into_iter()
        .find(|r| r.target == target && &r.workload == workload && jobs.is_live(r))
        .map(|r| Started {
            run_id: r.run_id,
            status: r.status.as_str().into(),
            reused: true,
            run_dir: r.run_dir,
        }))
}

fn start_sagemaker(
    jobs: &Jobs,
    profile: Option<&WorkloadProfile>,
    dir: &Path,
    a: StartArgs,
    capacity: Option<CapacitySearch>,
) -> Result<Started, ToolError> {
    let workload = profile.map(|p| p.name.clone());
    let run_id = new_run_id(workload.as_deref());
    let salt = &run_id[run_id.len().saturating_sub(4)..];
    let sm = crate::project::plan_run(dir, a.ic.as_deref(), a.adapter.as_deref(), salt)?;
    let target = sm.target.uri();
    if let Some(r) = reusable(jobs, &target, &workload, a.force)? {
        return Ok(r);
    }
    let endpoint = EndpointSpec {
        url: target,
        api: ApiKind::Chat,
        model: Some(sm.tokenizer.clone()),
        api_key: None,
        extra_body: Default::default(),
        simulated: false,
        ..Default::default()
    };
    let mut spec = plan::build(
        run_id,
        profile,
        endpoint,
        &overrides(a.overrides.unwrap_or_default()),
    )
    .map_err(|e| format!("invalid overrides: {e}"))?;
    spec.capacity = capacity;
    let record = jobs.start_sagemaker(spec, sm, a.label)?;
    Ok(Started {
        run_id: record.run_id,
        status: record.status.as_str().into(),
        reused: false,
        run_dir: record.run_dir,
    })
}

fn start_local(
    jobs: &Jobs,
    profile: Option<&WorkloadProfile>,
    ep: Endpoint,
    api_key: Option<String>,
    a: StartArgs,
    capacity: Option<CapacitySearch>,
) -> Result<Started, ToolError> {
    let simulated = ep.url.trim().eq_ignore_ascii_case("sim");
    let target = if simulated {
        "sim".to_owned()
    } else {
        ep.url.trim().to_owned()
    };
    let workload = profile.map(|p| p.name.clone());
    if let Some(r) = reusable(jobs, &target, &workload, a.force)? {
        return Ok(r);
    }
    let endpoint = EndpointSpec {
        url: target,
        api: match ep.api.as_deref() {
            None | Some("chat") => ApiKind::Chat,
            Some("completions") => ApiKind::Completions,
            Some(other) => {
                return Err(tool_err!(
                    "endpoint.api {other:?} is not supported; use \"chat\" or \"completions\""
                ))
            }
        },
        model: ep.model,
        api_key,
        extra_body: Default::default(),
        simulated,
        sim: simulated.then(|| {
            a.overrides
                .as_ref()
                .map(RunOverrides::sim_settings)
                .unwrap_or_default()
        }),
        tls: TlsSpec {
            ca_cert_pem: ep.ca_cert,
            insecure: ep.insecure.unwrap_or(false),
        },
        headers: SecretHeaders(ep.headers.unwrap_or_default().into_iter().collect()),
    };
    if let Some(sim) = &endpoint.sim {
        sim.check()?;
    }
    let run_id = new_run_id(workload.as_deref());
    let mut spec = plan::build(
        run_id,
        profile,
        endpoint,
        &overrides(a.overrides.unwrap_or_default()),
    )
    .map_err(|e| format!("invalid overrides: {e}"))?;
    spec.capacity = capacity;
    crate::engine::local::check_endpoint(&spec).map_err(|e| tool_err!("{e}"))?;
    let context = a.project_dir.as_deref().and_then(|d| {
        crate::project::result_context(Path::new(d), a.ic.as_deref(), a.adapter.as_deref()).ok()
    });
    let record = jobs.start(spec, a.label, context)?;
    Ok(Started {
        run_id: record.run_id,
        status: record.status.as_str().into(),
        reused: false,
        run_dir: record.run_dir,
    })
}

fn overrides(o: RunOverrides) -> Overrides {
    let defaults = Overrides::none();
    let mut concurrency = o.concurrency_levels.unwrap_or_default();
    if let Some(c) = o.concurrency {
        concurrency = vec![c];
    }
    Overrides {
        concurrency,
        request_rate: o.request_rate.into_iter().collect(),
        request_count: o.request_count,
        duration_s: o.duration_s,
        input_tokens: o.input_tokens,
        output_tokens: o.output_tokens,
        streaming: o.streaming,
        warmup_requests: o.warmup_requests.unwrap_or(0),
        request_timeout_s: o.request_timeout_s.unwrap_or(defaults.request_timeout_s),
        slo: o.slo.map(crate::domain::Slo::from),
        grace_period_s: o.grace_period_s.unwrap_or(defaults.grace_period_s),
        ..defaults
    }
}

/// Starts a capacity search as a run of the engine chosen as for
/// `start_benchmark`.
pub(crate) fn find_capacity(shared: &Shared, a: CapacityArgs) -> Result<Started, ToolError> {
    let search = search_of(a.slo.into(), a.search.unwrap_or_default())?;
    let args = StartArgs {
        workload: a.workload,
        endpoint: a.endpoint,
        engine: a.engine,
        project_dir: a.project_dir,
        ic: a.ic,
        adapter: None,
        overrides: a.overrides,
        label: a.label,
        force: true,
    };
    start(shared, args, Some(search))
}

/// The search a call asked for, with the documented defaults.
fn search_of(slo: crate::domain::Slo, s: SearchArg) -> Result<CapacitySearch, ToolError> {
    if slo.is_empty() {
        return Err(tool_err!(
            "give at least one target in slo (ttft_p99_ms, ttft_p90_ms, itl_p99_ms, e2e_p99_ms, error_rate)"
        ));
    }
    slo.check()?;
    let mode = match s.mode {
        Some(SearchModeArg::Rate) => SearchMode::Rate,
        _ => SearchMode::Concurrency,
    };
    let (min, max) = match mode {
        SearchMode::Concurrency => (
            f64::from(s.min_concurrency.unwrap_or(1)),
            f64::from(s.max_concurrency.unwrap_or(256)),
        ),
        SearchMode::Rate => (s.min_rate.unwrap_or(1.0), s.max_rate.unwrap_or(1000.0)),
    };
    let search = CapacitySearch {
        slo,
        mode,
        min,
        max,
        budget_s: s.budget_s.unwrap_or(600.0),
    };
    crate::plan::check_search(&search)?;
    Ok(search)
}
