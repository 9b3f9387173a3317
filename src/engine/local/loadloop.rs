//! The one load loop. It runs on the calling (non-runtime) thread and is
//! parameterised by a schedule (closed loop or absolute arrival offsets), an
//! optional concurrency cap and a stop condition (count or duration). Each
//! request is a task on the runtime; every task is tracked and awaited.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::runtime::Handle;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::client::{Exchange, Target};
use super::progress::Progress;
use super::response::err;
use super::schedule::Schedule;
use crate::domain::{BenchmarkPhase, ErrorKind, LoadLevel, RequestRecord, StopCondition};

/// The last stretch before a deadline is spun, not slept: sleeps overshoot.
const SPIN_WINDOW: Duration = Duration::from_micros(50);
/// Longest single sleep, so cancellation is noticed promptly.
const MAX_SLEEP: Duration = Duration::from_millis(20);

/// A request ready to send: body serialised before the run.
#[derive(Debug, Clone)]
pub(crate) struct PreparedRequest {
    pub(crate) body: Bytes,
    pub(crate) input_tokens: u32,
    pub(crate) max_tokens: u32,
}

/// One phase: a level's warmup or profiling requests.
#[derive(Debug, Clone)]
pub(crate) struct PhasePlan {
    pub(crate) level: LoadLevel,
    pub(crate) level_index: usize,
    pub(crate) phase: BenchmarkPhase,
    pub(crate) stop: StopCondition,
    /// Index of the first prepared request this phase uses.
    pub(crate) first_request: usize,
    pub(crate) seed: u64,
}

/// What every phase shares.
#[derive(Debug, Clone)]
pub(crate) struct LoopContext {
    pub(crate) handle: Handle,
    pub(crate) target: Arc<Target>,
    pub(crate) requests: Arc<[PreparedRequest]>,
    pub(crate) progress: Arc<Progress>,
    /// Cancelled to stop dispatching (Ctrl+C, cancel). Requests in flight
    /// then get `grace` to finish.
    pub(crate) stop: CancellationToken,
    pub(crate) grace: Duration,
}

/// What a phase produced.
#[derive(Debug)]
pub(crate) struct PhaseOutcome {
    pub(crate) records: Vec<RequestRecord>,
    /// Dispatch stopped early because `stop` was cancelled.
    pub(crate) cancelled: bool,
    pub(crate) started: Instant,
    pub(crate) finished: Instant,
}

/// Why dispatching ended.
enum Halt {
    Done,
    Cancelled,
}

/// Runs one phase to completion (blocking the calling thread).
pub(crate) fn run_phase(ctx: &LoopContext, plan: &PhasePlan) -> PhaseOutcome {
    let started = Instant::now();
    let abort = CancellationToken::new();
    let (handles, halt) = dispatch(ctx, plan, &abort, started);
    // A count-stopped phase waits for every request (each has its own
    // timeout); a duration stop or a cancellation gives in-flight requests
    // `grace` before they are cancelled.
    let grace_now =
        matches!(halt, Halt::Cancelled) || matches!(plan.stop, StopCondition::Duration { .. });
    let watch = Watchdog {
        grace: ctx.grace,
        start_now: grace_now,
        stop: ctx.stop.clone(),
        abort: abort.clone(),
    };
    let records = ctx.handle.block_on(drain(handles, watch));
    PhaseOutcome {
        records,
        cancelled: matches!(halt, Halt::Cancelled),
        started,
        finished: Instant::now(),
    }
}

fn dispatch(
    ctx: &LoopContext,
    plan: &PhasePlan,
    abort: &CancellationToken,
    started: Instant,
) -> (Vec<JoinHandle<RequestRecord>>, Halt) {
    let mut schedule = Schedule::for_level(&plan.level, plan.seed);
    let slots = slot_count(&plan.level).map(|n| Arc::new(Semaphore::new(n)));
    let (max_count, stop_at) = match plan.stop {
        StopCondition::Requests { count } => (count, None),
        StopCondition::Duration { seconds } => {
            (u64::MAX, Some(started + Duration::from_secs_f64(seconds)))
        }
    };
    let mut handles = Vec::with_capacity(max_count.min(1 << 20) as usize);
    for index in 0..max_count {
        if ctx.stop.is_cancelled() {
            return (handles, Halt::Cancelled);
        }
        let due = match &mut schedule {
            Schedule::Closed => None,
            Schedule::Open(arrivals) => Some(started + arrivals.next_offset()),
        };
        if let Some(halt) = past(due.or(Some(Instant::now())), stop_at) {
            return (handles, halt);
        }
        if let Some(due) = due {
            if !sleep_until(due, &ctx.stop) {
                return (handles, Halt::Cancelled);
            }
        }
        let permit = match &slots {
            Some(sem) => match acquire(ctx, sem, stop_at) {
                Ok(p) => Some(p),
                Err(halt) => return (handles, halt),
            },
            None => None,
        };
        // Closed loop: the request was due the moment its slot freed up.
        let intended = due.unwrap_or_else(Instant::now);
        let req = ctx.requests[(plan.first_request + index as usize) % ctx.requests.len()].clone();
        ctx.progress
            .sent
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let task = request_task(ctx, plan, index, intended, req, permit, abort.clone());
        handles.push(ctx.handle.spawn(task));
    }
    (handles, Halt::Done)
}

/// Concurrency slots of a level (`None` = unbounded open loop).
fn slot_count(level: &LoadLevel) -> Option<usize> {
    match *level {
        LoadLevel::Concurrency { concurrency } => Some(concurrency as usize),
        LoadLevel::Rate {
            max_concurrency, ..
        } => max_concurrency.map(|c| c as usize),
    }
}

fn past(at: Option<Instant>, stop_at: Option<Instant>) -> Option<Halt> {
    match (at, stop_at) {
        (Some(at), Some(stop)) if at >= stop => Some(Halt::Done),
        _ => None,
    }
}

/// Sleeps until `deadline` with microsecond precision; false if cancelled.
fn sleep_until(deadline: Instant, stop: &CancellationToken) -> bool {
    loop {
        if stop.is_cancelled() {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        let left = deadline - now;
        if left > SPIN_WINDOW {
            std::thread::sleep((left - SPIN_WINDOW).min(MAX_SLEEP));
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Waits for a free slot, the stop time, or cancellation.
fn acquire(
    ctx: &LoopContext,
    sem: &Arc<Semaphore>,
    stop_at: Option<Instant>,
) -> Result<OwnedSemaphorePermit, Halt> {
    if let Ok(p) = Arc::clone(sem).try_acquire_owned() {
        return Ok(p);
    }
    let sem = Arc::clone(sem);
    let stop = ctx.stop.clone();
    ctx.handle.block_on(async move {
        let until = async {
            match stop_at {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            p = sem.acquire_owned() => p.map_err(|_| Halt::Done),
            () = stop.cancelled() => Err(Halt::Cancelled),
            () = until => Err(Halt::Done),
        }
    })
}

fn request_task(
    ctx: &LoopContext,
    plan: &PhasePlan,
    index: u64,
    intended: Instant,
    req: PreparedRequest,
    permit: Option<OwnedSemaphorePermit>,
    abort: CancellationToken,
) -> impl std::future::Future<Output = RequestRecord> + Send + 'static {
    let target = Arc::clone(&ctx.target);
    let progress = Arc::clone(&ctx.progress);
    let (phase, level) = (plan.phase, plan.level_index);
    async move {
        let id = format!("{}-{level}-{index}", phase.as_str());
        let exchange = tokio::select! {
            biased;
            () = abort.cancelled() => None,
            ex = target.exchange(req.body.clone(), &id, req.max_tokens) => Some(ex),
        };
        drop(permit);
        let record = to_record(exchange, &req, phase, level, index, intended);
        progress.finished(record.is_ok());
        record
    }
}

fn to_record(
    ex: Option<Exchange>,
    req: &PreparedRequest,
    phase: BenchmarkPhase,
    level: usize,
    index: u64,
    intended: Instant,
) -> RequestRecord {
    let now = Instant::now();
    let ex = ex.unwrap_or_else(|| Exchange {
        send: intended.max(now),
        head: None,
        end: now,
        status: None,
        outcome: super::response::Outcome {
            error: Some(err(
                ErrorKind::Cancelled,
                Some(499),
                "cancelled: the run stopped before this request finished".into(),
            )),
            ..Default::default()
        },
        output_tokens_client: None,
    });
    RequestRecord {
        index,
        phase,
        level,
        intended,
        send: ex.send,
        head: ex.head,
        responses: ex.outcome.responses,
        end: ex.end,
        status: ex.status,
        error: ex.outcome.error,
        usage: ex.outcome.usage,
        input_tokens: req.input_tokens,
        output_tokens_client: ex.output_tokens_client,
        max_tokens: req.max_tokens,
    }
}

/// When in-flight requests are cut off.
struct Watchdog {
    grace: Duration,
    /// Start the grace period at once (else when `stop` is cancelled).
    start_now: bool,
    stop: CancellationToken,
    abort: CancellationToken,
}

/// Awaits every task; the watchdog cancels stragglers after the grace period.
async fn drain(handles: Vec<JoinHandle<RequestRecord>>, w: Watchdog) -> Vec<RequestRecord> {
    let watchdog = tokio::spawn(async move {
        if !w.start_now {
            w.stop.cancelled().await;
        }
        tokio::time::sleep(w.grace).await;
        w.abort.cancel();
    });
    let mut records = Vec::with_capacity(handles.len());
    for h in handles {
        match h.await {
            Ok(r) => records.push(r),
            Err(e) => tracing::error!("request task failed: {e}"),
        }
    }
    watchdog.abort();
    let _ = watchdog.await;
    records
}
