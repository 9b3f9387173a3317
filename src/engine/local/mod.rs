//! The local engine: prepares prompts and bodies, runs warmup and then each
//! load level through the one load loop, derives each level's result and
//! writes its exports as soon as the level ends (so a run cut short keeps the
//! levels it finished).

#[doc(hidden)]
pub mod bench_support;
mod body;
mod client;
mod conn;
mod connect;
mod contention;
mod discover;
mod fastpath;
mod from_dataset;
mod loadloop;
mod openai;
mod progress;
pub mod prompts;
mod request_head;
mod response;
mod runtime;
mod rx;
mod schedule;
mod session;
mod sse;
mod tls;
pub mod tokenizer;
pub mod tokenizer_fetch;
mod tools;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

use self::client::{HttpRoute, Route, Target};
use self::connect::Connector;
use self::contention::{ContentionSnapshot, WakeupProbe};
use self::loadloop::{run_phase, LoopContext, PhaseOutcome, PhasePlan, PreparedRequest};
pub use self::progress::{Progress, SloWatch};
use self::prompts::PromptFactory;
use self::session::SessionPlan;
use self::tokenizer::ClientTokenizer;
use super::invoke::ConnectRuntime;
use super::EngineError;
use crate::domain::{
    BenchmarkPhase, LevelResult, LoadLevel, RequestRecord, RunResult, RunSpec, RunStatus,
    RuntimeTarget, StopCondition,
};
use crate::metrics::{self, ClientLoad, TokenPolicy};
use crate::rng::Rng;
use crate::storage;
use crate::sys::{self, ThreadClock};
use crate::wallclock::Anchor;

/// Upper bound on prompt text held in memory (characters) and on distinct
/// prompts; past either, prompts are reused cyclically, as AIPerf reuses its
/// dataset entries.
const PROMPT_POOL_CHARS: u64 = 64_000_000;
const PROMPT_POOL_MAX: u64 = 1_000;
/// Interval of the runtime-lag probe.
const LAG_PROBE_EVERY: Duration = Duration::from_millis(10);

/// What a run needs from its caller.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// Runtime the request tasks run on. `run` must be called from a thread
    /// that is *not* one of its workers (it blocks).
    pub handle: Handle,
    /// Cancel to stop dispatching; in-flight requests get the grace period
    /// and the results are written, marked cancelled.
    pub stop: CancellationToken,
    /// Live counters.
    pub progress: Arc<Progress>,
    /// CPU clock of an in-process simulator, excluded from client CPU.
    pub excluded_cpu: Option<ThreadClock>,
    /// Where every output file goes.
    pub output_dir: PathBuf,
    /// Connects `sagemaker://` endpoints (the runtime API); `None` refuses
    /// them.
    pub runtime: Option<ConnectRuntime>,
}

/// Runs a benchmark to completion (or cancellation) and writes its outputs.
pub fn run(spec: &RunSpec, ctx: &RunContext) -> Result<RunResult, EngineError> {
    validate(spec)?;
    let anchor = Anchor::now();
    let started = std::time::Instant::now();
    let runner = prepare(spec, ctx, anchor)?;
    storage::write_run_spec(&ctx.output_dir, spec)?;
    let warmup = runner.warmup();
    let levels = runner.levels(warmup)?;
    let result = RunResult {
        run_id: spec.run_id.clone(),
        status: run_status(&levels, ctx.stop.is_cancelled()),
        model: runner.model.clone(),
        indicators: metrics::key_indicators(&levels),
        levels,
        output_dir: ctx.output_dir.display().to_string(),
        start_time: anchor.rfc3339(started),
        end_time: anchor.rfc3339(std::time::Instant::now()),
        spec: spec.clone(),
        capacity: None,
    };
    storage::write_run_result(&ctx.output_dir, &result)?;
    Ok(result)
}

/// Everything before the first request: tokenizer, connector, model name,
/// prompts and bodies.
fn prepare<'a>(
    spec: &'a RunSpec,
    ctx: &'a RunContext,
    anchor: Anchor,
) -> Result<Runner<'a>, EngineError> {
    let tokenizer = Arc::new(load_tokenizer(spec, ctx)?);
    let (route, model) = connect(spec, ctx)?;
    let prepared = prepare_requests(spec, &tokenizer, model.as_deref())?;
    let model = model.unwrap_or_else(|| spec.endpoint.url.clone());
    let policy = TokenPolicy {
        source: spec.token_count,
        exact_client_tokenizer: tokenizer.is_exact(),
    };
    let tokenizer_name = tokenizer.name().to_owned();
    let timeout = Duration::from_secs_f64(spec.request_timeout_s);
    let target = Arc::new(Target {
        route,
        streaming: spec.streaming,
        timeout,
        tokenizer,
    });
    let lctx = LoopContext {
        handle: ctx.handle.clone(),
        target,
        requests: prepared.requests.into(),
        progress: Arc::clone(&ctx.progress),
        stop: ctx.stop.clone(),
        grace: Duration::from_secs_f64(spec.grace_period_s),
        conns: Arc::default(),
        sessions: prepared.sessions,
        trace: prepared.trace,
    };
    Ok(Runner {
        spec,
        ctx,
        lctx,
        anchor,
        policy,
        tokenizer_name,
        model,
        secrets: secrets_of(spec),
    })
}

/// The client tokenizer; a model missing from the local Hugging Face cache
/// is fetched into it first when the spec allows it and the environment is
/// not offline (`HF_HUB_OFFLINE`).
fn load_tokenizer(spec: &RunSpec, ctx: &RunContext) -> Result<ClientTokenizer, EngineError> {
    let name = spec.prompts.tokenizer.as_deref();
    let missing = name.filter(|n| {
        spec.prompts.tokenizer_download
            && tokenizer_fetch::is_model_id(n)
            && !tokenizer::is_available(n)
    });
    if let (Some(id), Some(target)) = (missing, tokenizer_fetch::FetchTarget::from_env()) {
        let cache = target.cache.display();
        tracing::info!(model = id, hub = %target.endpoint, %cache, "fetching tokenizer.json");
        ctx.handle
            .block_on(tokenizer_fetch::fetch(id, &target, &ctx.stop))?;
    }
    ClientTokenizer::load(name)
}

/// The route to the model and the model name to put in request bodies. A
/// `sagemaker://` endpoint goes through the SageMaker runtime API and names
/// a model only when one was given (the container serves one); an HTTP
/// endpoint's model is discovered from `/models` when not given.
fn connect(spec: &RunSpec, ctx: &RunContext) -> Result<(Route, Option<String>), EngineError> {
    if let Some(target) = RuntimeTarget::parse(&spec.endpoint.url) {
        let target = target.map_err(EngineError::InvalidSpec)?;
        let connect = ctx.runtime.ok_or_else(|| {
            EngineError::Setup(
                "this build cannot reach SageMaker runtime endpoints (sagemaker://): it was built without the `aws` cargo feature; reinstall with default features".into(),
            )
        })?;
        let invoker = ctx.handle.block_on(connect(target));
        let model = spec.endpoint.model.clone().filter(|m| !m.is_empty());
        return Ok((Route::Runtime(invoker), model));
    }
    let uri = request_uri(spec)?;
    // The in-process simulator is never reached through a proxy.
    let connector = Connector::new(&uri, &spec.endpoint.tls, !spec.endpoint.simulated)?;
    let route = HttpRoute::new(Arc::new(connector), &uri, &spec.endpoint)?;
    let model = ctx
        .handle
        .block_on(discover::resolve_model(&route, &spec.endpoint))?;
    Ok((Route::Http(route), Some(model)))
}

/// The request URL, checked: http or https with a host.
/// Checks what can be checked of a spec's endpoint before any run starts,
/// without touching the network: the URL, the TLS settings (the CA
/// certificate parses) and the headers (valid names and values).
pub fn check_endpoint(spec: &RunSpec) -> Result<(), EngineError> {
    if spec.endpoint.simulated {
        return Ok(());
    }
    if let Some(target) = RuntimeTarget::parse(&spec.endpoint.url) {
        return target.map(|_| ()).map_err(EngineError::InvalidSpec);
    }
    let uri = request_uri(spec)?;
    let connector = Connector::new(&uri, &spec.endpoint.tls, false)?;
    HttpRoute::new(Arc::new(connector), &uri, &spec.endpoint).map(|_| ())
}

fn request_uri(spec: &RunSpec) -> Result<http::Uri, EngineError> {
    let url = spec.endpoint.request_url();
    let bad = |why: &str| {
        EngineError::InvalidSpec(format!(
            "endpoint {:?} {why}; expected e.g. http://127.0.0.1:8000/v1",
            spec.endpoint.url
        ))
    };
    let uri: http::Uri = url
        .parse()
        .map_err(|e| bad(&format!("is not a valid URL ({e})")))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.host().is_some_and(|h| !h.is_empty()) => Ok(uri),
        Some("http" | "https") => Err(bad("has no host")),
        _ => Err(bad(
            "must start with http:// or https:// (or sagemaker:// for a SageMaker endpoint)",
        )),
    }
}

fn validate(spec: &RunSpec) -> Result<(), EngineError> {
    let bad = |m: &str| Err(EngineError::InvalidSpec(m.to_owned()));
    if spec.levels.is_empty() {
        return bad("no load level to run");
    }
    for l in &spec.levels {
        match *l {
            LoadLevel::Concurrency { concurrency: 0 } => {
                return bad("concurrency must be at least 1")
            }
            LoadLevel::Rate { rate, .. } if !(rate.is_finite() && rate > 0.0) => {
                return bad("request rate must be a positive number of requests per second")
            }
            LoadLevel::Rate {
                max_concurrency: Some(0),
                ..
            } => return bad("max concurrency must be at least 1"),
            _ => {}
        }
    }
    match spec.stop {
        StopCondition::Requests { count: 0 } => return bad("request count must be at least 1"),
        StopCondition::Duration { seconds } if !(seconds.is_finite() && seconds > 0.0) => {
            return bad("duration must be a positive number of seconds")
        }
        _ => {}
    }
    if spec.sessions.is_some() {
        if spec.endpoint.api != crate::domain::ApiKind::Chat {
            return bad("multi-turn sessions need the chat API");
        }
        if spec.levels.iter().any(|l| l.concurrency().is_none()) {
            return bad(
                "multi-turn sessions run at a concurrency (sessions in flight), not a request rate",
            );
        }
    }
    if !(spec.request_timeout_s.is_finite() && spec.request_timeout_s > 0.0) {
        return bad("request timeout must be positive");
    }
    if !(spec.grace_period_s.is_finite() && spec.grace_period_s >= 0.0) {
        return bad("grace period must be zero or positive");
    }
    Ok(())
}

/// What the load loop sends: prepared requests, or a session plan.
struct Prepared {
    requests: Vec<PreparedRequest>,
    sessions: Option<Arc<SessionPlan>>,
    /// A replayed trace's arrival offsets.
    trace: Option<Arc<[Duration]>>,
}

/// Bodies for every request the run will send (reused cyclically past the
/// pool's size; a dataset's entries in file order), or, for a multi-turn
/// run, the session plan that builds each turn from the history. Built
/// entirely before the first request.
fn prepare_requests(
    spec: &RunSpec,
    tokenizer: &ClientTokenizer,
    model: Option<&str>,
) -> Result<Prepared, EngineError> {
    let mut rng = Rng::derive(spec.seed, 0x9903);
    let fields = openai::common_fields(
        model,
        &spec.prompts,
        spec.streaming,
        &spec.endpoint.extra_body,
    );
    if let Some(ds) = &spec.dataset {
        let p = &spec.prompts;
        let draw = || {
            prompts::draw_length(
                &mut rng,
                p.distribution,
                p.output_tokens_mean,
                p.output_tokens_stddev,
                1,
            )
        };
        let d = from_dataset::prepare(spec, ds, tokenizer, &fields, draw)?;
        return Ok(Prepared {
            requests: d.requests,
            sessions: None,
            trace: d.trace,
        });
    }
    let needed = match spec.stop {
        StopCondition::Requests { count } => u64::from(spec.warmup_requests)
            .saturating_add(count.saturating_mul(spec.levels.len() as u64)),
        StopCondition::Duration { .. } => u64::MAX,
    };
    let per_prompt = u64::from(spec.prompts.input_tokens_mean.max(1)) * 8;
    let pool = needed
        .min(PROMPT_POOL_MAX)
        .min((PROMPT_POOL_CHARS / per_prompt).max(1)) as usize;
    let factory = PromptFactory::new(&spec.prompts, tokenizer, spec.seed);
    let prompts = (0..pool).map(|_| factory.next(&mut rng));
    if let Some(s) = spec.sessions {
        let plan = SessionPlan::new(s, prompts.collect(), &fields, spec.seed);
        return Ok(Prepared {
            requests: Vec::new(),
            sessions: Some(Arc::new(plan)),
            trace: None,
        });
    }
    let requests = prompts
        .map(|p| PreparedRequest {
            body: openai::request_body(spec.endpoint.api, &fields, &p).into(),
            input_tokens: p.input_tokens,
            max_tokens: p.max_tokens,
        })
        .collect();
    Ok(Prepared {
        requests,
        sessions: None,
        trace: None,
    })
}

/// The parts of a run every phase needs.
struct Runner<'a> {
    spec: &'a RunSpec,
    ctx: &'a RunContext,
    lctx: LoopContext,
    anchor: Anchor,
    policy: TokenPolicy,
    tokenizer_name: String,
    /// The model named in requests (the URL when none is named).
    model: String,
    /// The run's credentials, scrubbed from anything an endpoint says.
    secrets: Vec<String>,
}

/// Shortest credential scrubbed (shorter values would mangle messages
/// without protecting anything).
const MIN_SECRET_LEN: usize = 4;

/// The credentials of `spec`'s endpoint: API key and header values.
fn secrets_of(spec: &RunSpec) -> Vec<String> {
    let headers = spec.endpoint.headers.0.iter().map(|(_, v)| v.clone());
    spec.endpoint
        .api_key
        .clone()
        .into_iter()
        .chain(headers)
        .filter(|s| s.len() >= MIN_SECRET_LEN)
        .collect()
}

/// Replaces every credential in the error messages an endpoint sent (they
/// are stored in results): an endpoint that echoes a request's headers
/// never gets a key into a file.
fn scrub(records: &mut [RequestRecord], secrets: &[String]) {
    for e in records.iter_mut().filter_map(|r| r.error.as_mut()) {
        for s in secrets {
            if e.message.contains(s.as_str()) {
                e.message = e.message.replace(s.as_str(), "***");
            }
        }
    }
}

impl Runner<'_> {
    /// Warmup requests at the first level's load, excluded from metrics.
    fn warmup(&self) -> Vec<RequestRecord> {
        let n = u64::from(self.spec.warmup_requests);
        if n == 0 {
            return Vec::new();
        }
        self.ctx.progress.start_level(0, true);
        let plan = PhasePlan {
            level: self.spec.levels[0],
            level_index: 0,
            phase: BenchmarkPhase::Warmup,
            stop: StopCondition::Requests { count: n },
            first_request: 0,
            seed: self.spec.seed ^ 0x3A,
        };
        let mut records = run_phase(&self.lctx, &plan).records;
        scrub(&mut records, &self.secrets);
        records
    }

    fn levels(&self, mut warmup: Vec<RequestRecord>) -> Result<Vec<LevelResult>, EngineError> {
        let mut out = Vec::with_capacity(self.spec.levels.len());
        for (i, level) in self.spec.levels.iter().enumerate() {
            if self.ctx.stop.is_cancelled() {
                break;
            }
            self.ctx.progress.start_level(i, false);
            let (mut outcome, load) = self.measure(i, *level);
            scrub(&mut outcome.records, &self.secrets);
            let dir = self.level_dir(i);
            let result = self.level_result(*level, &outcome, &load, &dir);
            storage::write_level_exports(
                &dir,
                &result,
                &outcome.records,
                &std::mem::take(&mut warmup),
                self.export_context(),
            )?;
            out.push(result);
        }
        Ok(out)
    }

    /// Runs a level's profiling phase with the CPU and lag probes around it.
    fn measure(&self, i: usize, level: LoadLevel) -> (PhaseOutcome, ClientLoad) {
        let per_level = match self.spec.stop {
            StopCondition::Requests { count } => count,
            StopCondition::Duration { .. } => 0,
        };
        let plan = PhasePlan {
            level,
            level_index: i,
            phase: BenchmarkPhase::Profiling,
            stop: self.spec.stop,
            // A replayed trace starts over at its first entry each level.
            first_request: if self.lctx.trace.is_some() {
                0
            } else {
                self.spec.warmup_requests as usize + i * per_level as usize
            },
            seed: self.spec.seed.wrapping_add(i as u64),
        };
        let probe_stop = CancellationToken::new();
        let probe = self.lctx.handle.spawn(lag_probe(probe_stop.clone()));
        let cpu0 = self.client_cpu();
        let sched0 = ContentionSnapshot::take();
        let wakeups = WakeupProbe::start();
        let outcome = run_phase(&self.lctx, &plan);
        let wakeup_lateness_ms = wakeups.and_then(WakeupProbe::finish);
        let contention = sched0.until(&ContentionSnapshot::take());
        let cpu = self.client_cpu().saturating_sub(cpu0);
        probe_stop.cancel();
        let runtime_lag_ms = self.lctx.handle.block_on(probe).unwrap_or_default();
        let load = ClientLoad {
            cpu_seconds: cpu.as_secs_f64(),
            wall_seconds: outcome
                .finished
                .duration_since(outcome.started)
                .as_secs_f64(),
            available_cores: sys::available_cores(),
            runtime_lag_ms,
            contention,
            wakeup_lateness_ms,
            machine_cores: sys::machine_cores(),
        };
        (outcome, load)
    }

    fn client_cpu(&self) -> Duration {
        let excluded = self
            .ctx
            .excluded_cpu
            .map_or(Duration::ZERO, |c| c.cpu_time());
        sys::process_cpu_time().saturating_sub(excluded)
    }

    fn level_dir(&self, i: usize) -> PathBuf {
        if self.spec.levels.len() == 1 {
            self.ctx.output_dir.clone()
        } else {
            self.ctx.output_dir.join(self.spec.levels[i].label())
        }
    }

    fn level_result(
        &self,
        level: LoadLevel,
        o: &PhaseOutcome,
        load: &ClientLoad,
        dir: &Path,
    ) -> LevelResult {
        let records = &o.records;
        let mut level_metrics = metrics::aggregate_level(records, self.spec.streaming, self.policy);
        if let Some(slo) = &self.spec.slo {
            let window = level_metrics.benchmark_duration_s;
            let (good, rate) =
                metrics::slo::goodput(records, self.spec.streaming, self.policy, slo, window);
            level_metrics.good_request_count = Some(good);
            level_metrics.goodput = Some(rate);
        }
        LevelResult {
            level,
            metrics: level_metrics,
            validity: metrics::validity(records, &level, load),
            errors: metrics::error_summary(records),
            token_counts: metrics::token_count_check(records, self.policy, &self.tokenizer_name),
            requests_sent: records.len() as u64,
            was_cancelled: o.cancelled,
            start_time: self.anchor.rfc3339(o.started),
            end_time: self.anchor.rfc3339(o.finished),
            export_dir: dir.display().to_string(),
        }
    }

    fn export_context(&self) -> storage::ExportContext<'_> {
        storage::ExportContext {
            spec: self.spec,
            anchor: self.anchor,
            policy: self.policy,
            model: &self.model,
        }
    }
}

fn run_status(levels: &[LevelResult], cancelled: bool) -> RunStatus {
    if cancelled {
        RunStatus::Cancelled
    } else if levels.iter().all(|l| l.metrics.request_count == 0) {
        RunStatus::Failed
    } else {
        RunStatus::Completed
    }
}

/// Samples the runtime's scheduling delay: how long a freshly spawned task
/// waits before it first runs.
async fn lag_probe(stop: CancellationToken) -> Vec<f64> {
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(LAG_PROBE_EVERY);
    loop {
        tokio::select! {
            () = stop.cancelled() => return samples,
            _ = tick.tick() => {
                let t0 = std::time::Instant::now();
                if let Ok(d) = tokio::spawn(async move { t0.elapsed() }).await {
                    samples.push(metrics::ms(d));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ApiKind, EndpointSpec, PromptSpec, TokenCountSource};

    fn spec(url: &str) -> RunSpec {
        RunSpec {
            run_id: "t".into(),
            workload: None,
            endpoint: EndpointSpec {
                url: url.into(),
                api: ApiKind::Chat,
                model: Some("m".into()),
                api_key: None,
                extra_body: Default::default(),
                simulated: false,
                ..Default::default()
            },
            streaming: true,
            levels: vec![LoadLevel::Concurrency { concurrency: 1 }],
            stop: StopCondition::Requests { count: 1 },
            warmup_requests: 0,
            prompts: PromptSpec {
                input_tokens_mean: 4,
                input_tokens_stddev: 0,
                output_tokens_mean: 4,
                output_tokens_stddev: 0,
                shared_prefix_tokens: 0,
                tokenizer: None,
                tokenizer_download: false,
                distribution: Default::default(),
                tools: false,
                structured_output: false,
                mixture: Vec::new(),
            },
            token_count: TokenCountSource::Auto,
            request_timeout_s: 1.0,
            grace_period_s: 1.0,
            seed: 0,
            slo: None,
            capacity: None,
            sessions: None,
            dataset: None,
        }
    }

    #[test]
    fn endpoint_urls_are_checked_before_anything_is_sent() {
        assert!(request_uri(&spec("http://127.0.0.1:8000/v1")).is_ok());
        assert!(request_uri(&spec("https://gpu.example/v1")).is_ok());
        for bad in ["ftp://h/v1", "127.0.0.1:8000", "not a url", "http:///v1"] {
            let e = request_uri(&spec(bad)).expect_err(bad).to_string();
            assert!(e.contains("expected e.g. http://"), "{bad}: {e}");
        }
    }

    #[test]
    fn credentials_an_endpoint_echoes_are_scrubbed() {
        let mut s = spec("http://h/v1");
        s.endpoint.api_key = Some("sk-abcdef".into());
        s.endpoint.headers = crate::domain::SecretHeaders(vec![
            ("api-key".into(), "gw-123456".into()),
            ("x-short".into(), "1".into()),
        ]);
        let secrets = secrets_of(&s);
        assert_eq!(
            secrets,
            ["sk-abcdef", "gw-123456"],
            "short values are not secrets"
        );
        let t = std::time::Instant::now();
        let mut rec = RequestRecord {
            index: 0,
            phase: BenchmarkPhase::Profiling,
            level: 0,
            intended: t,
            send: t,
            head: None,
            responses: Vec::new(),
            first_answer: None,
            end: t,
            status: Some(400),
            error: Some(crate::domain::RequestError {
                kind: crate::domain::ErrorKind::ClientError,
                code: Some(400),
                message: "HTTP 400: you sent Bearer sk-abcdef and api-key: gw-123456".into(),
            }),
            usage: None,
            input_tokens: 1,
            output_tokens_client: None,
            reasoning_tokens_client: None,
            max_tokens: 1,
            connect: None,
            session: None,
        };
        scrub(std::slice::from_mut(&mut rec), &secrets);
        let msg = rec.error.map(|e| e.message).unwrap_or_default();
        assert_eq!(msg, "HTTP 400: you sent Bearer *** and api-key: ***");
    }

    #[test]
    fn impossible_specs_are_rejected_with_the_reason() {
        let mut s = spec("http://h/v1");
        s.levels = vec![LoadLevel::Concurrency { concurrency: 0 }];
        assert!(validate(&s)
            .expect_err("c=0")
            .to_string()
            .contains("concurrency"));
        let mut s = spec("http://h/v1");
        s.stop = StopCondition::Duration { seconds: f64::NAN };
        assert!(validate(&s)
            .expect_err("nan")
            .to_string()
            .contains("duration"));
    }
}
