//! The one way a local benchmark runs, whoever asks: the foreground
//! `mcc-bench run` and a detached runner (and the capacity search on top of
//! them). It starts the in-process simulator for `sim`, keeps
//! `progress.json` up to date for other processes, runs the engine, and adds
//! a completed run to the history from the result in memory.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{history, JobError, Jobs};
use crate::aws;
use crate::domain::{RunRecord, RunResult, RunSpec, RunState, StopCondition};
use crate::engine::local::{self, Progress, RunContext, SloWatch};
use crate::sim::{SimConfig, SimServer};
use crate::storage;

/// How often progress is written to `progress.json`.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Live counters sized for `spec`; a capacity search's also count the
/// requests beyond its targets.
pub fn progress_for(spec: &RunSpec) -> Progress {
    let p = match spec.stop {
        StopCondition::Requests { count } => Progress::new(spec.levels.len(), count, 0.0),
        StopCondition::Duration { seconds } => Progress::new(spec.levels.len(), 0, seconds),
    };
    match &spec.capacity {
        Some(c) => p.watching(SloWatch::new(c.slo)),
        None => p,
    }
}

/// Runs `record`'s benchmark with `spec` (the record's, with the endpoint's
/// credentials filled in) until it ends or `stop` is cancelled; a completed
/// run is added to the history (the record is `collecting` meanwhile).
pub fn execute(
    jobs: &Jobs,
    record: &RunRecord,
    mut spec: RunSpec,
    rt: &tokio::runtime::Runtime,
    stop: CancellationToken,
    progress: Arc<Progress>,
) -> Result<RunResult, JobError> {
    let sim = start_sim(&mut spec)?;
    let dir = Path::new(&record.run_dir).to_path_buf();
    let writer = ProgressWriter::start(Arc::clone(&progress), dir.clone());
    let ctx = RunContext {
        handle: rt.handle().clone(),
        stop,
        progress,
        excluded_cpu: sim.as_ref().and_then(SimServer::cpu_clock),
        output_dir: dir,
        runtime: aws::RUNTIME,
    };
    let outcome = match spec.capacity {
        Some(search) => super::capacity::run(&spec, &search, &ctx),
        None => local::run(&spec, &ctx),
    };
    writer.finish();
    if let Some(sim) = sim {
        write_sim_truth(Path::new(&record.run_dir), &sim.truth());
    }
    let result = outcome.map_err(|e| JobError::Input(e.to_string()))?;
    if result.status == crate::domain::RunStatus::Completed {
        // The load is over; adding the run to the history is the collecting step.
        let _ = jobs.set(&record.run_id, |r| r.status = RunState::Collecting);
        rt.block_on(history::after_run(jobs.home(), record, &result));
    }
    Ok(result)
}

/// The in-process simulator for a run against `sim`, with the spec pointed
/// at it.
fn start_sim(spec: &mut RunSpec) -> Result<Option<SimServer>, JobError> {
    if !spec.endpoint.simulated {
        return Ok(None);
    }
    let settings = spec.endpoint.sim.unwrap_or_default();
    settings.check().map_err(JobError::Input)?;
    let sim = SimServer::start(SimConfig::for_run(&settings, spec.seed))
        .map_err(|e| JobError::Input(format!("the simulator cannot start: {e}")))?;
    spec.endpoint.url = sim.url();
    Ok(Some(sim))
}

/// Name of the simulator's own log in a run directory.
pub const SIM_TRUTH_JSONL: &str = "sim_truth.jsonl";

/// The in-process simulator's record of every request it served, one JSON
/// line each (`x_request_id`; `queue_ms` from reading the request to a
/// generation slot; `ttft_ms` and `latency_ms` from reading it to handing
/// its first and last token to the connection; `chunks`), so the client's
/// figures can be checked request by request against the server's.
/// Best effort: a failed write is logged.
fn write_sim_truth(dir: &Path, truth: &[crate::sim::TruthRecord]) {
    let ms = |a: std::time::Instant, b: std::time::Instant| {
        (b.saturating_duration_since(a).as_secs_f64() * 1e6).round() / 1e3
    };
    let lines = |w: &mut dyn std::io::Write| {
        for t in truth {
            let line = serde_json::json!({
                "x_request_id": t.request_id,
                "queue_ms": ms(t.received, t.admitted),
                "ttft_ms": t.chunks.first().map(|&c| ms(t.received, c)),
                "latency_ms": t.chunks.last().map(|&c| ms(t.received, c)),
                "chunks": t.chunks.len(),
            });
            serde_json::to_writer(&mut *w, &line)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    };
    if let Err(e) = storage::write_atomic_with(&dir.join(SIM_TRUTH_JSONL), lines) {
        tracing::warn!("cannot write the simulator's log: {e}");
    }
}

/// Writes the live counters to `progress.json` until finished.
struct ProgressWriter {
    /// Set by `finish`: the thread writes one last snapshot and exits.
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ProgressWriter {
    fn start(progress: Arc<Progress>, dir: std::path::PathBuf) -> Self {
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        let thread = std::thread::Builder::new()
            .name("mcc-bench-progress-file".into())
            .spawn(move || loop {
                let last = flag.load(Relaxed);
                let _ = storage::write_progress(&dir, &progress.snapshot());
                if last {
                    return;
                }
                std::thread::sleep(PROGRESS_EVERY);
            })
            .ok();
        Self { done, thread }
    }

    fn finish(mut self) {
        self.done.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
