//! Turns a workload profile plus a caller's overrides into a `RunSpec`:
//! overrides win, the profile fills what they leave unset, the seed's
//! defaults fill the rest. Shared by the command line and the MCP tools, so
//! both resolve a request the same way.

use serde_json::{Map, Value};

mod dataset;
mod shape;

use self::shape::{prompts, sessions};
use crate::domain::{
    ArrivalPattern, EndpointSpec, LengthDistribution, LoadLevel, RunSpec, StopCondition,
    TokenCountSource, WorkloadProfile,
};

/// What a caller may set over a profile. `None`/empty means "the profile's".
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Closed-loop concurrency, or a sweep of several.
    pub concurrency: Vec<u32>,
    /// Sweep the profile's `concurrency_levels`.
    pub sweep: bool,
    /// Open-loop request rates (a sweep when several).
    pub request_rate: Vec<f64>,
    /// Spacing of open-loop arrivals (Poisson when unset).
    pub arrival: Option<ArrivalPattern>,
    /// Cap on requests in flight in open loop.
    pub max_concurrency: Option<u32>,
    /// Requests per level.
    pub request_count: Option<u64>,
    /// Seconds per level instead of a count.
    pub duration_s: Option<f64>,
    /// Mean prompt tokens.
    pub input_tokens: Option<u32>,
    /// Prompt token standard deviation.
    pub input_tokens_stddev: Option<u32>,
    /// Mean output tokens.
    pub output_tokens: Option<u32>,
    /// Output token standard deviation.
    pub output_tokens_stddev: Option<u32>,
    /// Shared system prompt tokens.
    pub shared_prefix_tokens: Option<u32>,
    /// How lengths spread around their means.
    pub length_distribution: Option<LengthDistribution>,
    /// Send the built-in OpenAI tools.
    pub tools: Option<bool>,
    /// Ask for structured output.
    pub structured_output: Option<bool>,
    /// Mean turns per session (1 = single-turn requests).
    pub turns: Option<u32>,
    /// Standard deviation of the turns per session.
    pub turns_stddev: Option<u32>,
    /// Mean think time between turns, ms.
    pub think_time_ms: Option<u32>,
    /// Standard deviation of the think time, ms.
    pub think_time_ms_stddev: Option<u32>,
    /// Prompts from this file (a path the caller may use).
    pub dataset: Option<String>,
    /// Its format, when not detected.
    pub dataset_format: Option<crate::domain::DatasetFormat>,
    /// Replay a trace's timestamps, divided by this.
    pub trace_speedup: Option<f64>,
    /// Streaming on or off.
    pub streaming: Option<bool>,
    /// Hugging Face tokenizer spec.
    pub tokenizer: Option<String>,
    /// May fetch a missing tokenizer from the Hub (see
    /// `PromptSpec::tokenizer_download`).
    pub tokenizer_download: bool,
    /// Warmup requests.
    pub warmup_requests: u32,
    /// Token count source.
    pub token_count: TokenCountSource,
    /// Per-request timeout, seconds.
    pub request_timeout_s: f64,
    /// Grace period after a stop, seconds.
    pub grace_period_s: f64,
    /// Seed.
    pub seed: u64,
    /// Targets deciding which requests are good (goodput).
    pub slo: Option<crate::domain::Slo>,
}

impl Overrides {
    /// No overrides, with the documented defaults for timing knobs.
    pub fn none() -> Self {
        Self {
            request_timeout_s: 600.0,
            grace_period_s: 30.0,
            ..Self::default()
        }
    }
}

/// The documented bounds of every number a caller may set (README, "Limits"):
/// beyond them a run would exhaust memory or never end, so they are refused.
pub mod limits {
    /// Requests in flight (closed loop) or the open-loop cap.
    pub const MAX_CONCURRENCY: u32 = 10_000;
    /// Load levels of one run.
    pub const MAX_LEVELS: usize = 64;
    /// Open-loop rate, requests/s.
    pub const RATE: (f64, f64) = (0.001, 100_000.0);
    /// Requests per level.
    pub const MAX_REQUESTS: u64 = 100_000_000;
    /// Seconds per level (a week).
    pub const MAX_DURATION_S: f64 = 604_800.0;
    /// Prompt or output tokens (mean or standard deviation).
    pub const MAX_TOKENS: u32 = 1_048_576;
    /// Warmup requests.
    pub const MAX_WARMUP: u32 = 1_000_000;
    /// Per-request timeout, seconds (a day).
    pub const MAX_REQUEST_TIMEOUT_S: f64 = 86_400.0;
    /// Grace period, seconds.
    pub const MAX_GRACE_S: f64 = 3_600.0;
}

/// Which engine runs a benchmark, and against what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineChoice {
    /// The local engine against this URL (`sim`, an OpenAI-compatible base
    /// URL, or `sagemaker://` for a SageMaker endpoint's runtime API).
    Local(String),
    /// SageMaker benchmark jobs for the project in this directory.
    SageMaker(std::path::PathBuf),
}

/// What a caller said about the engine.
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineRequest<'a> {
    /// The engine asked for, if any.
    pub engine: Option<crate::domain::Engine>,
    /// The endpoint URL given, if any.
    pub endpoint: Option<&'a str>,
    /// The project's inference component or adapter, if named.
    pub ic: Option<&'a str>,
    /// The project's adapter, if named.
    pub adapter: Option<&'a str>,
}

/// The engine asked for, or the default: local with an endpoint, else
/// SageMaker when the project in `dir` names an endpoint. Local without an
/// endpoint drives the project's endpoint through the SageMaker runtime
/// API. The one rule for the shell and the MCP tools.
pub fn choose_engine(
    req: EngineRequest<'_>,
    dir: &std::path::Path,
) -> Result<EngineChoice, String> {
    use crate::domain::Engine;
    use crate::project::{runtime_url, Project};
    let endpoint = req.endpoint.map(str::trim).filter(|e| !e.is_empty());
    match (req.engine, endpoint) {
        (Some(Engine::Local) | None, Some(url)) => Ok(EngineChoice::Local(url.to_owned())),
        (Some(Engine::Sagemaker), Some(_)) => Err(
            "an endpoint URL is for the local engine; the SageMaker engine benchmarks the project's own endpoint (name the project, and its inference component or adapter)".into(),
        ),
        (Some(Engine::Sagemaker), None) => Ok(EngineChoice::SageMaker(dir.to_path_buf())),
        (Some(Engine::Local), None) => runtime_url(dir, req.ic, req.adapter)
            .map(EngineChoice::Local)
            .map_err(|e| e.to_string()),
        (None, None) if Project::has_endpoint(dir) => Ok(EngineChoice::SageMaker(dir.to_path_buf())),
        (Some(Engine::Stage), _) => Err("stage is not a benchmark engine; use local or sagemaker".into()),
        (None, None) => Err(format!(
            "say what to benchmark: an endpoint URL (local engine; `sim` is the built-in simulator), or an ml-container-creator project with ENDPOINT_NAME in do/config (SageMaker engine); {} has none",
            dir.display()
        )),
    }
}

/// Builds the spec; `workload` names the profile when one was chosen.
pub fn build(
    run_id: String,
    workload: Option<&WorkloadProfile>,
    endpoint: EndpointSpec,
    o: &Overrides,
) -> Result<RunSpec, String> {
    let defaults = WorkloadProfile::seed_defaults();
    let profile = workload.unwrap_or(&defaults);
    check_bounds(o)?;
    if let Some(slo) = &o.slo {
        slo.check()?;
    }
    let dataset = dataset::plan(o)?;
    let replay = dataset.as_ref().and_then(|d| d.replay);
    let levels = match replay {
        Some(level) => vec![level],
        None => levels(o, profile)?,
    };
    let sessions = match &dataset {
        Some(_) => None,
        None => sessions(o, profile, &endpoint, &levels)?,
    };
    let stop = match (&dataset, replay) {
        (Some(d), Some(_)) if o.request_count.is_none() && o.duration_s.is_none() => {
            StopCondition::Requests {
                count: d.spec.entries,
            }
        }
        _ => stop(o, profile)?,
    };
    Ok(RunSpec {
        run_id,
        workload: workload.map(|p| p.name.clone()),
        streaming: o.streaming.unwrap_or(profile.streaming),
        prompts: prompts(o, profile, &endpoint)?,
        endpoint,
        levels,
        stop,
        warmup_requests: o.warmup_requests,
        token_count: o.token_count,
        request_timeout_s: positive(o.request_timeout_s, "the request timeout")?,
        grace_period_s: non_negative(o.grace_period_s, "the grace period")?,
        seed: o.seed,
        slo: o.slo.filter(|s| !s.is_empty()),
        capacity: None,
        sessions,
        dataset: dataset.map(|d| d.spec),
    })
}

/// Refuses numbers beyond `limits`, naming the value and the bound.
fn check_bounds(o: &Overrides) -> Result<(), String> {
    use limits::*;
    let over = |what: &str, v: String, max: String| {
        Err(format!("{what} {v} is beyond the limit of {max}"))
    };
    if let Some(c) = o
        .concurrency
        .iter()
        .chain(&o.max_concurrency)
        .find(|c| **c > MAX_CONCURRENCY)
    {
        return over("concurrency", c.to_string(), MAX_CONCURRENCY.to_string());
    }
    if o.concurrency.len().max(o.request_rate.len()) > MAX_LEVELS {
        return over(
            "a sweep of",
            format!("{} levels", o.concurrency.len().max(o.request_rate.len())),
            MAX_LEVELS.to_string(),
        );
    }
    if let Some(r) = o
        .request_rate
        .iter()
        .find(|r| !(RATE.0..=RATE.1).contains(*r))
    {
        return Err(format!(
            "request rate {r} must be between {} and {} requests/s",
            RATE.0, RATE.1
        ));
    }
    if let Some(n) = o.request_count.filter(|n| *n > MAX_REQUESTS) {
        return over("request count", n.to_string(), MAX_REQUESTS.to_string());
    }
    if let Some(d) = o.duration_s.filter(|d| *d > MAX_DURATION_S) {
        return over("duration", format!("{d} s"), format!("{MAX_DURATION_S} s"));
    }
    let tokens = [
        ("input tokens", o.input_tokens),
        ("input tokens stddev", o.input_tokens_stddev),
        ("output tokens", o.output_tokens),
        ("output tokens stddev", o.output_tokens_stddev),
        ("shared prefix tokens", o.shared_prefix_tokens),
    ];
    if let Some((what, Some(n))) = tokens
        .iter()
        .find(|(_, n)| n.is_some_and(|n| n > MAX_TOKENS))
    {
        return over(what, n.to_string(), MAX_TOKENS.to_string());
    }
    if o.warmup_requests > MAX_WARMUP {
        return over(
            "warmup requests",
            o.warmup_requests.to_string(),
            MAX_WARMUP.to_string(),
        );
    }
    if o.request_timeout_s > MAX_REQUEST_TIMEOUT_S {
        return over(
            "request timeout",
            format!("{} s", o.request_timeout_s),
            format!("{MAX_REQUEST_TIMEOUT_S} s"),
        );
    }
    if o.grace_period_s > MAX_GRACE_S {
        return over(
            "grace period",
            format!("{} s", o.grace_period_s),
            format!("{MAX_GRACE_S} s"),
        );
    }
    Ok(())
}

fn levels(o: &Overrides, profile: &WorkloadProfile) -> Result<Vec<LoadLevel>, String> {
    if !o.request_rate.is_empty() {
        if o.concurrency.len() > 1 || o.sweep {
            return Err("a request-rate run takes at most one concurrency (the cap); sweep rates or concurrencies, not both".into());
        }
        let cap = o.max_concurrency.or_else(|| o.concurrency.first().copied());
        if cap == Some(0) {
            return Err("the concurrency cap must be at least 1".into());
        }
        let pattern = o.arrival.unwrap_or(ArrivalPattern::Poisson);
        return o
            .request_rate
            .iter()
            .map(|&rate| {
                Ok(LoadLevel::Rate {
                    rate: positive(rate, "the request rate")?,
                    pattern,
                    max_concurrency: cap,
                })
            })
            .collect();
    }
    if o.max_concurrency.is_some() {
        return Err(
            "max concurrency applies to request-rate runs; use concurrency for a closed loop"
                .into(),
        );
    }
    let list = if !o.concurrency.is_empty() {
        o.concurrency.clone()
    } else if o.sweep {
        profile.concurrency_levels.clone()
    } else {
        vec![profile.concurrency]
    };
    if list.contains(&0) {
        return Err("concurrency must be at least 1".into());
    }
    Ok(list
        .into_iter()
        .map(|concurrency| LoadLevel::Concurrency { concurrency })
        .collect())
}

fn stop(o: &Overrides, profile: &WorkloadProfile) -> Result<StopCondition, String> {
    if let Some(d) = o.duration_s {
        if o.request_count.is_some() {
            return Err("give a request count or a duration, not both".into());
        }
        return Ok(StopCondition::Duration {
            seconds: positive(d, "the duration")?,
        });
    }
    match o.request_count.unwrap_or(u64::from(profile.request_count)) {
        0 => Err("the request count must be at least 1".into()),
        count => Ok(StopCondition::Requests { count }),
    }
}

/// A capacity search's range and budget, or which is out of bounds.
pub fn check_search(s: &crate::domain::CapacitySearch) -> Result<(), String> {
    use crate::domain::SearchMode;
    let (lo, hi) = match s.mode {
        SearchMode::Concurrency => (1.0, f64::from(limits::MAX_CONCURRENCY)),
        SearchMode::Rate => limits::RATE,
    };
    if !(s.min.is_finite() && s.max.is_finite() && lo <= s.min && s.min <= s.max && s.max <= hi) {
        return Err(format!(
            "the search range {}–{} must lie within {lo}–{hi} with min ≤ max",
            s.min, s.max
        ));
    }
    if !(s.budget_s.is_finite() && s.budget_s > 0.0 && s.budget_s <= limits::MAX_DURATION_S) {
        return Err(format!(
            "the search budget must be between 0 and {} s",
            limits::MAX_DURATION_S
        ));
    }
    s.slo.check()
}

/// Parses service-level targets written `NAME=VALUE` (the names of `Slo`'s
/// fields).
pub fn slo(pairs: &[String]) -> Result<Option<crate::domain::Slo>, String> {
    let mut slo = crate::domain::Slo::default();
    for kv in pairs.iter().filter(|p| !p.trim().is_empty()) {
        let (name, value) = kv
            .split_once('=')
            .ok_or_else(|| format!("target {kv:?} must be NAME=VALUE, e.g. ttft_p99_ms=500"))?;
        let v: f64 = value
            .trim()
            .parse()
            .map_err(|_| format!("target {name}: {value:?} is not a number"))?;
        let field = match name.trim() {
            "ttft_p99_ms" => &mut slo.ttft_p99_ms,
            "ttft_p90_ms" => &mut slo.ttft_p90_ms,
            "itl_p99_ms" => &mut slo.itl_p99_ms,
            "e2e_p99_ms" => &mut slo.e2e_p99_ms,
            "error_rate" => &mut slo.error_rate,
            other => {
                return Err(format!(
                    "unknown target {other:?}; use ttft_p99_ms, ttft_p90_ms, itl_p99_ms, e2e_p99_ms or error_rate"
                ))
            }
        };
        *field = Some(v);
    }
    slo.check()?;
    Ok((!slo.is_empty()).then_some(slo))
}

/// Parses `KEY=VALUE` (or `KEY:VALUE`) pairs (VALUE as JSON when it parses, else a string)
/// over an optional JSON object of extra request body fields.
pub fn extra_body(object: Option<&str>, pairs: &[String]) -> Result<Map<String, Value>, String> {
    let mut map = match object {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(
                    "extra body must be a JSON object, e.g. '{\"ignore_eos\": true}'".into(),
                )
            }
            Err(e) => return Err(format!("extra body is not valid JSON: {e}")),
        },
    };
    for kv in pairs {
        // KEY=VALUE, or AIPerf's KEY:VALUE: the first separator counts.
        let (k, v) = kv
            .split_once(['=', ':'])
            .filter(|(k, _)| !k.trim().is_empty())
            .ok_or_else(|| {
                format!("extra field {kv:?} must be KEY=VALUE (or KEY:VALUE), e.g. ignore_eos=true")
            })?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_owned()));
        map.insert(k.trim().to_owned(), value);
    }
    Ok(map)
}

fn positive(v: f64, what: &str) -> Result<f64, String> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{what} must be a positive number, got {v}"))
    }
}

fn non_negative(v: f64, what: &str) -> Result<f64, String> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{what} must be zero or positive, got {v}"))
    }
}
