//! The capacity search on the SageMaker engine: each probe is one benchmark
//! job at one concurrency (AIPerf next to the endpoint), run to its end and
//! judged like a local probe. The service's own concurrency search judges a
//! single statistic (the average by default) and its output is not
//! documented, so the search is ours: the same bracketing, bisection and
//! boundary repeat, with p90/p99 targets judged exactly.
//!
//! Each probe's job is appended to the run record before it is created, so
//! a replacement runner replays the recorded probes (their outputs are
//! downloaded once) and goes on from there. A job's figures arrive when it
//! ends: SageMaker probes are not stopped early.

use std::path::Path;

use tokio_util::sync::CancellationToken;

use super::{probe_spec, Book};
use crate::aws::AwsCloud;
use crate::domain::{CapacitySearch, LevelResult, RunRecord, RunResult, RunSpec, SageMakerRefs};
use crate::engine::sagemaker::flow::{check_endpoint, run_job, JobStep};
use crate::engine::sagemaker::{spec as smspec, CloudApi, SageMakerError};
use crate::jobs::history::level_points;
use crate::jobs::{cloud, Jobs};
use crate::metrics::slo;
use crate::storage;

/// Executes (or resumes) the SageMaker capacity search of `record`.
pub(crate) fn run(
    jobs: &Jobs,
    record: &RunRecord,
    rt: &tokio::runtime::Runtime,
    stop: &CancellationToken,
) -> Result<RunResult, String> {
    let spec = &record.spec;
    let search = spec
        .capacity
        .ok_or("the run record is not a capacity search")?;
    let mut refs = cloud::refs_of(record)
        .ok_or("the run record has no SageMaker job names (engine_refs); start the run again")?;
    let persist = cloud::recorder(jobs, &record.run_id);
    let dir = Path::new(&record.run_dir);
    let at = JobStep {
        run_dir: dir,
        stop,
        backoff: cloud::backoff(),
        persist: &persist,
    };
    rt.block_on(async {
        let api = AwsCloud::from_env(refs.plan.region.as_deref()).await;
        search_jobs(&api, spec, &search, &mut refs, &at).await
    })
    .map_err(|e| e.to_string())
}

/// The search over benchmark jobs; writes and returns the run's result.
pub(crate) async fn search_jobs<A: CloudApi>(
    api: &A,
    spec: &RunSpec,
    search: &CapacitySearch,
    refs: &mut SageMakerRefs,
    at: &JobStep<'_>,
) -> Result<RunResult, SageMakerError> {
    if refs.jobs.iter().all(|j| j.status.is_none()) {
        check_endpoint(api, refs).await?;
    }
    let mut book = Book::new(search);
    book.model = refs.plan.tokenizer.clone();
    for i in 0.. {
        let Some(load) = load_of(&mut book, refs, i, at) else {
            break;
        };
        let probe = probe_spec(spec, search, load, i);
        match run_job(api, &probe, refs, i, at).await? {
            Some(level) => {
                book.add(with_goodput(level, search), false, load);
            }
            None if at.stop.is_cancelled() => break,
            None => {
                book.note(ended_note(refs, i));
                break;
            }
        }
    }
    storage::write_run_spec(at.run_dir, spec)?;
    let result = book.finish(spec, at.run_dir, at.stop.is_cancelled());
    storage::write_run_result(at.run_dir, &result)?;
    Ok(result)
}

/// The load of probe `i`: a recorded job's (a resumed search replays
/// them), or the search's next, whose job is recorded before it starts.
fn load_of(book: &mut Book, refs: &mut SageMakerRefs, i: usize, at: &JobStep<'_>) -> Option<f64> {
    if let Some(job) = refs.jobs.get(i) {
        return Some(f64::from(job.concurrency));
    }
    let load = book.next(at.stop)?;
    let n = u32::try_from(i + 1).ok()?;
    refs.jobs.push(smspec::plan_probe(
        &refs.plan,
        n,
        load.round().max(1.0) as u32,
    ));
    (at.persist)(refs);
    Some(load)
}

/// A job that ended without results ends the search: its status and reason.
fn ended_note(refs: &SageMakerRefs, i: usize) -> String {
    let job = &refs.jobs[i];
    format!(
        "probe {} ({}) ended {}: {}; the search stopped there",
        i + 1,
        job.job_name,
        job.status.as_deref().unwrap_or("without a status"),
        job.failure.as_deref().unwrap_or("no reason given")
    )
}

/// Goodput of a job's level from its per-request export, when the job's
/// aggregate did not carry it.
fn with_goodput(mut level: LevelResult, search: &CapacitySearch) -> LevelResult {
    let m = &level.metrics;
    if m.goodput.is_some() || m.benchmark_duration_s <= 0.0 {
        return level;
    }
    let points = level_points(&level);
    if points.is_empty() {
        return level;
    }
    let good = points
        .iter()
        .filter(|(_, p)| p.error.is_none())
        .filter(|(_, p)| slo::within_targets(p.ttft_ms, p.itl_ms, p.latency_ms, &search.slo))
        .count() as u64;
    level.metrics.good_request_count = Some(good);
    level.metrics.goodput = Some(good as f64 / level.metrics.benchmark_duration_s);
    level
}
