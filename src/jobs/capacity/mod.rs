//! The capacity search: the highest load the endpoint serves within its
//! service-level targets. Each probe is one level run by the local engine
//! (into `probe-<n>-<level>/` of the run directory); `search` decides the
//! next load from the probes so far. A probe whose targets are lost beyond
//! doubt while it runs is stopped early. Every probe is a level of the
//! run's result, so comparisons, the history and the report see them.
//!
//! Probe length (documented in the README): at concurrency `c`,
//! max(100, 25·c) requests after `c` warmup requests (one per connection);
//! at rate `r`, max(100, 10·r) requests (ten seconds of arrivals). A p99
//! from 100 requests rests on its top two values; more load per probe keeps
//! the figure stable as the load grows.

mod cloud;
mod search;

pub(crate) use cloud::run as run_cloud;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use self::search::{Outcome, Search};
use crate::domain::{
    ArrivalPattern, Capacity, CapacitySearch, LevelResult, LoadLevel, Probe, RunResult, RunSpec,
    RunStatus, SearchMode, Slo, StopCondition,
};
use crate::engine::local::{self, Progress, RunContext};
use crate::engine::EngineError;
use crate::metrics::slo;
use crate::storage;

/// Fewest requests in a probe.
const MIN_PROBE_REQUESTS: u64 = 100;
/// Requests per unit of concurrency in a probe.
const REQUESTS_PER_LANE: u64 = 25;
/// Seconds of arrivals in a rate probe.
const RATE_PROBE_SECONDS: f64 = 10.0;
/// How often a running probe's targets are checked.
const WATCH_EVERY: Duration = Duration::from_millis(50);

/// Runs the search described by `spec.capacity`, each probe with `ctx`
/// (its output directory is the run's), and returns the run's result.
pub(crate) fn run(
    spec: &RunSpec,
    search: &CapacitySearch,
    ctx: &RunContext,
) -> Result<RunResult, EngineError> {
    let mut book = Book::new(search);
    while let Some(load) = book.next(&ctx.stop) {
        let index = book.levels.len();
        let (level, early, model) = probe(spec, search, load, index, ctx)?;
        book.model = model;
        let shown = book.add(level, early, load);
        if let Ok(mut probes) = ctx.progress.probes.lock() {
            probes.push(shown);
        }
    }
    storage::write_run_spec(&ctx.output_dir, spec)?;
    let result = book.finish(spec, &ctx.output_dir, ctx.stop.is_cancelled());
    storage::write_run_result(&ctx.output_dir, &result)?;
    Ok(result)
}

/// A search in progress, whichever engine runs its probes: where it
/// stands, the probes and their levels so far, and what to tell the user.
pub(super) struct Book {
    search: CapacitySearch,
    state: Search,
    levels: Vec<LevelResult>,
    probes: Vec<Probe>,
    notes: Vec<String>,
    /// The model the endpoint named (from the last probe).
    pub(super) model: String,
    started: Instant,
}

impl Book {
    pub(super) fn new(search: &CapacitySearch) -> Self {
        Self {
            search: *search,
            state: Search::new(search),
            levels: Vec::new(),
            probes: Vec::new(),
            notes: Vec::new(),
            model: String::new(),
            started: Instant::now(),
        }
    }

    /// The next load to probe, or `None` when the answer is known or the
    /// search was cancelled or ran out of budget (noted).
    pub(super) fn next(&mut self, stop: &CancellationToken) -> Option<f64> {
        let load = self.state.next()?;
        if stop.is_cancelled() {
            self.notes.push("the search was cancelled".to_owned());
            return None;
        }
        if self.started.elapsed().as_secs_f64() >= self.search.budget_s {
            let note = format!("the {} s budget ran out", self.search.budget_s);
            self.notes.push(note);
            return None;
        }
        Some(load)
    }

    /// Records the probe at `load` that produced `level` (`early`: stopped
    /// once a target was lost); returns the probe as shown.
    pub(super) fn add(&mut self, level: LevelResult, early: bool, load: f64) -> Probe {
        let repeat = self.state.is_repeat(load);
        let (p, verdict) = judged(&level, &self.search.slo, early, repeat, load);
        self.state.record(load, verdict);
        self.probes.push(p.clone());
        self.levels.push(level);
        p
    }

    /// Adds a note to the answer.
    pub(super) fn note(&mut self, note: String) {
        self.notes.push(note);
    }

    /// The run's result: every probe a level, the answer in `capacity`.
    pub(super) fn finish(self, spec: &RunSpec, output_dir: &Path, cancelled: bool) -> RunResult {
        let mut capacity = answer(
            &self.state,
            &self.search,
            self.probes,
            self.started,
            self.notes,
        );
        let levels = self.levels;
        capacity.requests_sent = levels.iter().map(|l| l.requests_sent).sum();
        let time = |l: Option<&LevelResult>, end: bool| {
            l.map(|l| {
                if end {
                    l.end_time.clone()
                } else {
                    l.start_time.clone()
                }
            })
            .unwrap_or_default()
        };
        RunResult {
            run_id: spec.run_id.clone(),
            status: if cancelled {
                RunStatus::Cancelled
            } else if levels.iter().all(|l| l.metrics.request_count == 0) {
                RunStatus::Failed
            } else {
                RunStatus::Completed
            },
            model: self.model,
            indicators: crate::metrics::key_indicators(&levels),
            start_time: time(levels.first(), false),
            end_time: time(levels.last(), true),
            levels,
            output_dir: output_dir.display().to_string(),
            spec: spec.clone(),
            capacity: Some(capacity),
        }
    }
}

/// Runs one probe at `load`; returns its level, whether it was stopped
/// early, and the model it named.
fn probe(
    spec: &RunSpec,
    search: &CapacitySearch,
    load: f64,
    index: usize,
    ctx: &RunContext,
) -> Result<(LevelResult, bool, String), EngineError> {
    let probe_spec = probe_spec(spec, search, load, index);
    let planned = match probe_spec.stop {
        StopCondition::Requests { count } => count,
        StopCondition::Duration { .. } => 0,
    };
    let stop = ctx.stop.child_token();
    let watcher = ctx.handle.spawn(watch(
        Arc::clone(&ctx.progress),
        search.slo,
        planned,
        stop.clone(),
    ));
    let probe_ctx = RunContext {
        stop: stop.clone(),
        output_dir: ctx.output_dir.join(format!(
            "probe-{}-{}",
            index + 1,
            probe_spec.levels[0].label()
        )),
        ..ctx.clone()
    };
    let result = local::run(&probe_spec, &probe_ctx);
    watcher.abort();
    let result = result?;
    let early = stop.is_cancelled() && !ctx.stop.is_cancelled();
    let level = result
        .levels
        .into_iter()
        .next()
        .ok_or_else(|| EngineError::InvalidSpec("a probe ran no level".into()))?;
    Ok((level, early, result.model))
}

/// The spec of one probe: one level at `load`, sized by the probe rule.
pub(super) fn probe_spec(
    spec: &RunSpec,
    search: &CapacitySearch,
    load: f64,
    index: usize,
) -> RunSpec {
    let (level, count, warmup) = match search.mode {
        SearchMode::Concurrency => {
            let c = load.round().max(1.0) as u32;
            let n = (REQUESTS_PER_LANE * u64::from(c)).max(MIN_PROBE_REQUESTS);
            (LoadLevel::Concurrency { concurrency: c }, n, c)
        }
        SearchMode::Rate => {
            let n = ((RATE_PROBE_SECONDS * load).ceil() as u64).max(MIN_PROBE_REQUESTS);
            let level = LoadLevel::Rate {
                rate: load,
                pattern: ArrivalPattern::Poisson,
                max_concurrency: None,
            };
            (level, n, 0)
        }
    };
    RunSpec {
        run_id: format!("{}-probe{}", spec.run_id, index + 1),
        levels: vec![level],
        stop: StopCondition::Requests { count },
        warmup_requests: warmup,
        slo: Some(search.slo),
        capacity: None,
        seed: spec.seed.wrapping_add(index as u64),
        ..spec.clone()
    }
}

/// Stops a probe as soon as a target is lost beyond doubt: more requests
/// over a percentile's threshold than the percentile can hide, or more
/// failures than the error-rate target allows over the whole probe. The
/// run's counters watch the targets (`local_run::progress_for`); each
/// probe's profiling phase starts them from zero.
async fn watch(progress: Arc<Progress>, slo: Slo, planned: u64, stop: CancellationToken) {
    if planned == 0 {
        return;
    }
    let Some(w) = progress.watch.as_ref() else {
        return;
    };
    let lost = |over: u64, target: Option<f64>, q: f64| {
        target.is_some() && over >= beyond_doubt(planned, q)
    };
    loop {
        tokio::time::sleep(WATCH_EVERY).await;
        let load = std::sync::atomic::Ordering::Relaxed;
        let errors = progress.errors.load(load);
        let too_many_errors = slo
            .error_rate
            .is_some_and(|e| errors as f64 > e * planned as f64);
        if too_many_errors
            || lost(w.over_ttft_p99.load(load), slo.ttft_p99_ms, 0.99)
            || lost(w.over_ttft_p90.load(load), slo.ttft_p90_ms, 0.90)
            || lost(w.over_e2e_p99.load(load), slo.e2e_p99_ms, 0.99)
        {
            stop.cancel();
            return;
        }
    }
}

/// Values over a threshold from which the `q` percentile of `n` values
/// (linear interpolation between closest ranks) is over it whatever the
/// remaining values are: the lower of the two ranks it interpolates
/// between is then over it.
fn beyond_doubt(n: u64, q: f64) -> u64 {
    let h = (q * (n.saturating_sub(1)) as f64).floor() as u64;
    n - h
}

/// A probe's record and what it tells the search.
fn judged(
    level: &LevelResult,
    slo: &Slo,
    early: bool,
    repeat: bool,
    load: f64,
) -> (Probe, Outcome) {
    let figures = slo::figures(level);
    let (mut failed, near) = slo::judge(&figures, slo);
    if early && failed.is_empty() {
        failed.push("stopped early: a target was lost beyond doubt".to_owned());
    }
    let client_bound = level.validity.client_bound;
    let outcome = match (client_bound, failed.is_empty()) {
        (true, _) => Outcome::ClientBound,
        (false, false) => Outcome::Fail,
        (false, true) => Outcome::Pass { near },
    };
    let probe = Probe {
        level: level.level.label(),
        load,
        passed: failed.is_empty() && !client_bound,
        stopped_early: early,
        client_bound,
        repeat,
        figures,
        failed,
    };
    (probe, outcome)
}

/// The search's answer with its confidence.
fn answer(
    state: &Search,
    search: &CapacitySearch,
    probes: Vec<Probe>,
    started: Instant,
    mut notes: Vec<String>,
) -> Capacity {
    let at = |load: Option<f64>, passed: bool| {
        load.and_then(|l| {
            probes
                .iter()
                .rev()
                .find(|p| p.load == l && p.passed == passed)
                .map(|p| p.figures.clone())
        })
    };
    let at_capacity = at(state.pass, true);
    let confidence = if state.client_bound {
        notes.push("a probe was limited by the client, not the endpoint: it is no capacity answer; run the client on a larger machine or lower the load range".to_owned());
        "client_bound"
    } else {
        match (state.pass, state.fail) {
            (None, Some(_)) => "below_min",
            (Some(p), None) if p >= search.max => "above_max",
            (Some(_), Some(_)) if state.next().is_none() => "exact",
            _ => "bounded",
        }
    };
    Capacity {
        mode: search.mode,
        max_concurrency: (search.mode == SearchMode::Concurrency)
            .then(|| state.pass.map(|p| p as u32))
            .flatten(),
        max_rate: (search.mode == SearchMode::Rate)
            .then_some(state.pass)
            .flatten(),
        goodput_rps: at_capacity.as_ref().and_then(|f| f.goodput_rps),
        at_capacity,
        at_first_failure: at(state.fail, false),
        confidence: confidence.to_owned(),
        requests_sent: 0,
        search_seconds: started.elapsed().as_secs_f64(),
        probes,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percentile_is_lost_once_its_lower_rank_is_over() {
        assert_eq!(beyond_doubt(100, 0.99), 2);
        assert_eq!(
            beyond_doubt(101, 0.99),
            2,
            "p99 of 101 is the 100th value exactly"
        );
        assert_eq!(beyond_doubt(1000, 0.99), 11);
        assert_eq!(beyond_doubt(100, 0.90), 11);
        assert_eq!(beyond_doubt(1, 0.99), 1);
    }
}
