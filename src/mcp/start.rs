//! `start_benchmark`: picks the engine (local or SageMaker), reuses an
//! active run for the same target and workload unless forced, and records
//! the new run.

use std::path::Path;

use super::allowed::allowed_dir;
use super::params::*;
use super::server::Shared;
use super::tool_error::{tool_err, ToolError};
use crate::domain::{
    ApiKind, ArrivalPattern, CapacitySearch, DatasetFormat, EndpointSpec, KeyChoice,
    LengthDistribution, SearchMode, SecretHeaders, ServerPolicy, TlsSpec, TokenCountSource,
    WorkloadProfile,
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
            start_local(shared, profile, endpoint, api_key, a, capacity)
        }
        EngineChoice::SageMaker(dir) => start_sagemaker(shared, profile, &dir, a, capacity),
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
    shared: &Shared,
    profile: Option<&WorkloadProfile>,
    dir: &Path,
    a: StartArgs,
    capacity: Option<CapacitySearch>,
) -> Result<Started, ToolError> {
    let jobs = &shared.jobs;
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
        extra_body: extra_body(a.overrides.as_ref())?,
        simulated: false,
        ..Default::default()
    };
    let mut spec = plan::build(
        run_id,
        profile,
        endpoint,
        &overrides(shared, a.overrides.unwrap_or_default())?,
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
    shared: &Shared,
    profile: Option<&WorkloadProfile>,
    ep: Endpoint,
    api_key: Option<String>,
    a: StartArgs,
    capacity: Option<CapacitySearch>,
) -> Result<Started, ToolError> {
    let jobs = &shared.jobs;
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
        extra_body: extra_body(a.overrides.as_ref())?,
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
        &overrides(shared, a.overrides.unwrap_or_default())?,
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

/// Largest `overrides.extra_body`, as JSON.
const MAX_EXTRA_BODY_BYTES: usize = 64 * 1024;

/// The plan's overrides from the tool's, with the same names and meanings
/// as `mcc-bench run`'s flags; a tokenizer path must be an allowed one.
fn overrides(shared: &Shared, o: RunOverrides) -> Result<Overrides, ToolError> {
    let defaults = Overrides::none();
    let mut concurrency = o.concurrency_levels.unwrap_or_default();
    if let Some(c) = o.concurrency {
        concurrency = vec![c];
    }
    let mut request_rate = o.request_rate_levels.unwrap_or_default();
    if let Some(r) = o.request_rate {
        request_rate = vec![r];
    }
    let tokenizer = o.tokenizer.map(|t| tokenizer_arg(shared, &t)).transpose()?;
    let dataset = o
        .dataset
        .map(|d| allowed_dir(shared, &d, "overrides.dataset"))
        .transpose()?
        .map(|p| p.display().to_string());
    Ok(Overrides {
        concurrency,
        sweep: o.sweep.unwrap_or(false),
        request_rate,
        arrival: o.arrival_pattern.map(|a| match a {
            ArrivalArg::Poisson => ArrivalPattern::Poisson,
            ArrivalArg::Constant => ArrivalPattern::Constant,
        }),
        max_concurrency: o.max_concurrency,
        request_count: o.request_count,
        duration_s: o.duration_s,
        input_tokens: o.input_tokens,
        input_tokens_stddev: o.input_tokens_stddev,
        output_tokens: o.output_tokens,
        output_tokens_stddev: o.output_tokens_stddev,
        shared_prefix_tokens: o.shared_prefix_tokens,
        length_distribution: o.length_distribution.map(|d| match d {
            DistributionArg::Normal => LengthDistribution::Normal,
            DistributionArg::Lognormal => LengthDistribution::Lognormal,
        }),
        tools: o.tools,
        structured_output: o.structured_output,
        turns: o.turns,
        turns_stddev: o.turns_stddev,
        think_time_ms: o.think_time_ms,
        think_time_ms_stddev: o.think_time_ms_stddev,
        dataset,
        dataset_format: o.dataset_format.map(|f| match f {
            DatasetFormatArg::Openai => DatasetFormat::Openai,
            DatasetFormatArg::Sharegpt => DatasetFormat::Sharegpt,
            DatasetFormatArg::Mooncake => DatasetFormat::Mooncake,
        }),
        trace_speedup: o.trace_speedup,
        streaming: o.streaming,
        tokenizer,
        tokenizer_download: shared.policy.allow_tokenizer_download,
        warmup_requests: o.warmup_requests.unwrap_or(0),
        token_count: match o.token_count {
            None | Some(TokenCountArg::Auto) => TokenCountSource::Auto,
            Some(TokenCountArg::Client) => TokenCountSource::Client,
            Some(TokenCountArg::Server) => TokenCountSource::Server,
        },
        request_timeout_s: o.request_timeout_s.unwrap_or(defaults.request_timeout_s),
        grace_period_s: o.grace_period_s.unwrap_or(defaults.grace_period_s),
        seed: o.seed.unwrap_or(0),
        slo: o.slo.map(crate::domain::Slo::from),
    })
}

/// A tokenizer a call may name: a Hugging Face model id (`org/name`) in the
/// server's local HF cache, or fetched into it when the operator allows
/// downloads; or a path inside the allowed directories (a call never reads
/// other files of the server).
fn tokenizer_arg(shared: &Shared, t: &str) -> Result<String, ToolError> {
    use crate::engine::local::{tokenizer, tokenizer_fetch};
    let path_like = t.starts_with('/') || t.starts_with('.') || t.ends_with(".json");
    if crate::domain::hf::is_model_id(t) && !path_like {
        let fetchable = shared.policy.allow_tokenizer_download && tokenizer_fetch::is_model_id(t);
        if fetchable || tokenizer::is_available(t) {
            return Ok(t.to_owned());
        }
        let why = format!("overrides.tokenizer: {t} is not in this server's Hugging Face cache");
        return Err(if shared.policy.allow_tokenizer_download {
            tool_err!("{why}, and only an org/name model id is fetched from the Hub")
                .fix("name the model as org/name, or omit tokenizer for the built-in one")
        } else {
            tool_err!("{why}, and this server does not download tokenizers").fix(
                "omit tokenizer to count with the built-in one, name a cached model, or ask the operator to start the server with --allow-tokenizer-download",
            )
        });
    }
    let path = allowed_dir(shared, t, "overrides.tokenizer")?;
    Ok(path.display().to_string())
}

/// `overrides.extra_body`, bounded.
fn extra_body(
    o: Option<&RunOverrides>,
) -> Result<serde_json::Map<String, serde_json::Value>, ToolError> {
    let body = o.and_then(|o| o.extra_body.clone()).unwrap_or_default();
    let size = serde_json::to_vec(&body).map_or(0, |b| b.len());
    if size > MAX_EXTRA_BODY_BYTES {
        return Err(tool_err!(
            "overrides.extra_body is {size} bytes of JSON; at most {MAX_EXTRA_BODY_BYTES} are sent"
        ));
    }
    Ok(body)
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every load-shape flag of `mcc-bench run` is an `overrides` field of
    /// start_benchmark with the same meaning, and the other way round. The
    /// names are the same but for what the table below maps (units in the
    /// MCP name, lists the flag takes with commas, paired flags).
    #[test]
    fn run_flags_and_start_benchmark_overrides_are_the_same_list() {
        // Not load shape: what to measure, how to reach it, where output
        // goes (the endpoint object and start_benchmark's own arguments
        // carry these), and the shell's own switches.
        const ELSEWHERE: [&str; 17] = [
            "workload",
            "endpoint",
            "engine",
            "project",
            "ic",
            "adapter",
            "api",
            "model",
            "api_key",
            "headers",
            "ca_cert",
            "insecure",
            "output_dir",
            "json",
            "no_progress",
            "catalog",
            "help",
        ];
        const SHELL_ONLY: [&str; 2] = ["verbose", "quiet"];
        let renamed = |id: &str| -> Vec<&'static str> {
            match id {
                "duration" => vec!["duration_s"],
                "request_timeout" => vec!["request_timeout_s"],
                "grace_period" => vec!["grace_period_s"],
                "concurrency" => vec!["concurrency", "concurrency_levels"],
                "request_rate" => vec!["request_rate", "request_rate_levels"],
                "extra" | "extra_body" => vec!["extra_body"],
                "streaming" | "no_streaming" => vec!["streaming"],
                "use_server_token_count" | "token_count" => vec!["token_count"],
                "tools" | "no_tools" => vec!["tools"],
                "structured_output" | "no_structured_output" => vec!["structured_output"],
                _ => vec![],
            }
        };
        let cmd = <crate::cli::Cli as clap::CommandFactory>::command();
        let run = cmd.find_subcommand("run").expect("run");
        let mut flags = BTreeSet::new();
        for arg in run.get_arguments() {
            let id = arg.get_id().as_str();
            if ELSEWHERE.contains(&id) || SHELL_ONLY.contains(&id) {
                continue;
            }
            let mapped = renamed(id);
            if mapped.is_empty() {
                flags.insert(id.to_owned());
            } else {
                flags.extend(mapped.into_iter().map(str::to_owned));
            }
        }
        let schema = schemars::schema_for!(RunOverrides);
        let fields: BTreeSet<String> = schema
            .get("properties")
            .and_then(|p| p.as_object())
            .expect("properties")
            .keys()
            .cloned()
            .collect();
        assert_eq!(flags, fields);
    }

    #[test]
    fn a_tokenizer_is_a_model_id_or_an_allowed_path() {
        let home = tempfile::tempdir().expect("home");
        let shared = Shared::new(
            crate::catalog::Catalog::builtin(),
            Jobs::new(home.path(), Path::new("/bin/true")),
        );
        let ids = ["Qwen/Qwen3-0.6B", "meta-llama/Llama-3.1-8B-Instruct"];
        for id in ids {
            // Not cached here: the operator must allow downloads.
            let e = tokenizer_arg(&shared, id).expect_err(id).to_string();
            assert!(e.contains("--allow-tokenizer-download"), "{e}");
        }
        let mut allowing = Shared::new(
            crate::catalog::Catalog::builtin(),
            Jobs::new(home.path(), Path::new("/bin/true")),
        );
        allowing.policy.allow_tokenizer_download = true;
        for id in ids {
            assert_eq!(tokenizer_arg(&allowing, id).expect(id), id);
        }
        let bare = tokenizer_arg(&allowing, "no-such-cached-model").expect_err("bare");
        assert!(bare.to_string().contains("org/name"), "{bare}");
        for bad in [
            "/etc/passwd",
            "../x/tokenizer.json",
            "a/b/c",
            "..",
            "/root/.ssh",
        ] {
            let e = tokenizer_arg(&shared, bad).expect_err(bad);
            assert!(e.to_string().contains("overrides.tokenizer"), "{bad}: {e}");
        }
        let big = serde_json::json!({"stop": "x".repeat(MAX_EXTRA_BODY_BYTES)});
        let o = RunOverrides {
            extra_body: big.as_object().cloned(),
            ..RunOverrides::default()
        };
        assert!(extra_body(Some(&o)).is_err());
    }
}
