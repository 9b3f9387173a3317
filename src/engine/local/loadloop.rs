//! The one load loop. Requests are sent by *lanes*: tasks that each own a
//! keep-alive connection and repeat one loop — take a ticket from the gate,
//! send, record — until the gate closes. The gate is the only thing that
//! differs between modes:
//!
//! - closed loop: a ticket is available at once (N lanes = N in flight);
//! - open loop: a pacer on the calling thread issues tickets at absolute
//!   deadlines with microsecond-precise sleeps; lanes wait for them, more
//!   lanes are added when all are busy (unless a cap fixes their number), and
//!   a ticket that waits for a free lane keeps its intended start.
//!
//! Stop conditions (count, duration, cancellation) are checked by the gate.
//! Each lane keeps its own records (no shared lock or channel per request);
//! every lane is tracked and awaited.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::body::ReqBody;
use super::client::{Exchange, Target};
use super::conn::{Conn, ConnPool};
use super::progress::Progress;
use super::response::{err, Outcome};
use super::schedule::Schedule;
use super::session::{Session, SessionPlan};
use crate::domain::{
    BenchmarkPhase, ErrorKind, LoadLevel, RequestRecord, SessionTurn, StopCondition,
};

/// The last stretch before a deadline is spun, not slept: sleeps overshoot.
const SPIN_WINDOW: Duration = Duration::from_micros(50);
/// Longest single sleep, so cancellation is noticed promptly.
const MAX_SLEEP: Duration = Duration::from_millis(20);
/// Lanes an uncapped open loop starts with; more are added on demand.
const INITIAL_OPEN_LANES: usize = 16;
/// Upper bound on lanes of an uncapped open loop.
const MAX_OPEN_LANES: usize = 100_000;

/// A request ready to send: body serialised before the run.
#[derive(Debug, Clone)]
pub(crate) struct PreparedRequest {
    pub(crate) body: ReqBody,
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
    /// Connections left open by earlier phases, for the next one's lanes.
    pub(crate) conns: Arc<ConnPool>,
    /// Multi-turn sessions: each lane runs one session at a time and
    /// builds each turn's body from it (`requests` is then unused).
    pub(crate) sessions: Option<Arc<SessionPlan>>,
    /// A replayed trace's arrival offsets (the `trace` arrival pattern),
    /// request k going out at offset k with prepared request k.
    pub(crate) trace: Option<Arc<[std::time::Duration]>>,
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

/// A permission to send one request.
#[derive(Debug, Clone, Copy)]
struct Ticket {
    index: u64,
    intended: Instant,
}

/// Where lanes get tickets.
#[derive(Debug)]
enum Source {
    /// Closed loop: the next index, at once.
    Immediate { next: AtomicU64 },
    /// Open loop: tickets issued by the pacer. The lock is held by the one
    /// lane waiting for the next ticket (a tokio lock: held across `.await`).
    Paced {
        rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Ticket>>,
    },
}

/// Hands out tickets until the stop condition.
#[derive(Debug)]
struct Gate {
    source: Source,
    max: u64,
    stop_at: Option<Instant>,
    stop: CancellationToken,
    /// Lanes waiting for a ticket (the pacer adds a lane when none is).
    idle: AtomicUsize,
    /// Cancelled once the last ticket of a counted closed loop is out, so
    /// a lane pausing between session turns need not sleep on.
    exhausted: CancellationToken,
}

impl Gate {
    async fn next(&self) -> Option<Ticket> {
        if self.stop.is_cancelled() {
            return None;
        }
        match &self.source {
            Source::Immediate { next } => {
                if self.stop_at.is_some_and(|t| Instant::now() >= t) {
                    return None;
                }
                let index = next.fetch_add(1, Relaxed);
                if index.saturating_add(1) >= self.max {
                    self.exhausted.cancel();
                }
                (index < self.max).then(|| Ticket {
                    index,
                    intended: Instant::now(),
                })
            }
            Source::Paced { rx } => {
                self.idle.fetch_add(1, Relaxed);
                let ticket = tokio::select! {
                    t = async { rx.lock().await.recv().await } => t,
                    () = self.stop.cancelled() => None,
                };
                self.idle.fetch_sub(1, Relaxed);
                ticket
            }
        }
    }
}

/// Runs one phase to completion (blocking the calling thread).
pub(crate) fn run_phase(ctx: &LoopContext, plan: &PhasePlan) -> PhaseOutcome {
    let started = Instant::now();
    let abort = CancellationToken::new();
    let (max, stop_at) = match plan.stop {
        StopCondition::Requests { count } => (count, None),
        StopCondition::Duration { seconds } => {
            (u64::MAX, Some(started + Duration::from_secs_f64(seconds)))
        }
    };
    let schedule = Schedule::for_level(&plan.level, plan.seed, ctx.trace.as_ref());
    let (tx, source) = match schedule {
        Schedule::Closed => (
            None,
            Source::Immediate {
                next: AtomicU64::new(0),
            },
        ),
        Schedule::Open(_) => {
            let (tx, rx) = mpsc::unbounded_channel();
            (
                Some(tx),
                Source::Paced {
                    rx: tokio::sync::Mutex::new(rx),
                },
            )
        }
    };
    let gate = Arc::new(Gate {
        source,
        max,
        stop_at,
        stop: ctx.stop.clone(),
        idle: AtomicUsize::new(0),
        exhausted: CancellationToken::new(),
    });
    let lanes = Lanes {
        ctx,
        plan,
        gate: Arc::clone(&gate),
        abort: abort.clone(),
        handles: Vec::new(),
    };
    let mut lanes = lanes;
    lanes.spawn(initial_lanes(&plan.level));
    if let (Schedule::Open(arrivals), Some(tx)) = (schedule, tx) {
        pace(&mut lanes, arrivals, &tx, started);
    }
    let watch = Watchdog {
        grace: ctx.grace,
        stop_at,
        stop: ctx.stop.clone(),
        abort,
    };
    let handles = std::mem::take(&mut lanes.handles);
    let mut records = ctx.handle.block_on(drain(handles, watch));
    records.sort_by_key(|r| r.index);
    PhaseOutcome {
        records,
        cancelled: ctx.stop.is_cancelled(),
        started,
        finished: Instant::now(),
    }
}

fn initial_lanes(level: &LoadLevel) -> usize {
    match *level {
        LoadLevel::Concurrency { concurrency } => concurrency as usize,
        LoadLevel::Rate {
            max_concurrency: Some(c),
            ..
        } => c as usize,
        LoadLevel::Rate {
            max_concurrency: None,
            ..
        } => INITIAL_OPEN_LANES,
    }
}

/// The open-loop pacer: issues ticket k at `started + offset(k)`, sleeping
/// precisely, until the stop condition; adds lanes when none is free.
fn pace(
    lanes: &mut Lanes<'_>,
    mut arrivals: super::schedule::Arrivals,
    tx: &mpsc::UnboundedSender<Ticket>,
    started: Instant,
) {
    let uncapped = matches!(
        lanes.plan.level,
        LoadLevel::Rate {
            max_concurrency: None,
            ..
        }
    );
    for index in 0..lanes.gate.max {
        let due = started + arrivals.next_offset();
        if lanes.gate.stop_at.is_some_and(|s| due >= s) || !sleep_until(due, &lanes.ctx.stop) {
            return;
        }
        if tx
            .send(Ticket {
                index,
                intended: due,
            })
            .is_err()
        {
            return;
        }
        if uncapped && lanes.gate.idle.load(Relaxed) == 0 && lanes.handles.len() < MAX_OPEN_LANES {
            lanes.spawn(1);
        }
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

/// The lanes of a phase.
struct Lanes<'a> {
    ctx: &'a LoopContext,
    plan: &'a PhasePlan,
    gate: Arc<Gate>,
    abort: CancellationToken,
    handles: Vec<JoinHandle<Vec<RequestRecord>>>,
}

impl Lanes<'_> {
    fn spawn(&mut self, n: usize) {
        for _ in 0..n {
            let lane = Lane {
                gate: Arc::clone(&self.gate),
                target: Arc::clone(&self.ctx.target),
                requests: Arc::clone(&self.ctx.requests),
                progress: Arc::clone(&self.ctx.progress),
                abort: self.abort.clone(),
                conns: Arc::clone(&self.ctx.conns),
                sessions: self.ctx.sessions.clone(),
                lanes: initial_lanes(&self.plan.level),
                first_request: self.plan.first_request,
                phase: self.plan.phase,
                level: self.plan.level_index,
            };
            self.handles.push(self.ctx.handle.spawn(lane.run()));
        }
    }
}

/// One lane: a connection and the loop that uses it.
struct Lane {
    gate: Arc<Gate>,
    target: Arc<Target>,
    requests: Arc<[PreparedRequest]>,
    progress: Arc<Progress>,
    /// Cancelled after the grace period: the request in flight is abandoned.
    abort: CancellationToken,
    /// Where the lane's connection comes from and goes back to.
    conns: Arc<ConnPool>,
    sessions: Option<Arc<SessionPlan>>,
    /// Lanes of the phase (sessions share the history budget among them).
    lanes: usize,
    first_request: usize,
    phase: BenchmarkPhase,
    level: usize,
}

impl Lane {
    async fn run(self) -> Vec<RequestRecord> {
        let mut conn: Option<Conn> = self.conns.take();
        let mut records = Vec::new();
        let mut session: Option<Session> = None;
        while let Some(t) = self.gate.next().await {
            self.progress.sent.fetch_add(1, Relaxed);
            let (req, turn) = self.request(t, &mut session);
            let id = format!("{}-{}-{}", self.phase.as_str(), self.level, t.index);
            let exchange = tokio::select! {
                biased;
                () = self.abort.cancelled() => None,
                ex = self.target.exchange(&mut conn, req.body.clone(), &id, req.max_tokens) => Some(ex),
            };
            let think = self.after_reply(&mut session, exchange.as_ref());
            let abandoned = exchange.is_none();
            let mut record = to_record(exchange, &req, self.phase, self.level, t);
            record.session = turn;
            self.progress.finished(&record, self.target.streaming);
            records.push(record);
            if abandoned || !self.pause(think).await {
                break;
            }
        }
        if let Some(c) = conn {
            self.conns.put(c);
        }
        records
    }

    /// The request for ticket `t`: the next prepared one, or the next turn
    /// of the lane's session (a new session when there is none).
    fn request(
        &self,
        t: Ticket,
        session: &mut Option<Session>,
    ) -> (PreparedRequest, Option<SessionTurn>) {
        let Some(plan) = &self.sessions else {
            let i = (self.first_request + t.index as usize) % self.requests.len();
            return (self.requests[i].clone(), None);
        };
        let s = session.get_or_insert_with(|| plan.start(self.lanes));
        let (req, turn) = plan.next_request(s);
        (req, Some(turn))
    }

    /// Takes the reply into the session; the think time before its next
    /// turn, if it goes on (otherwise the lane's next ticket starts a new one).
    fn after_reply(
        &self,
        session: &mut Option<Session>,
        ex: Option<&Exchange>,
    ) -> Option<Duration> {
        let (plan, s, ex) = (self.sessions.as_ref()?, session.as_mut()?, ex?);
        let think = plan.after_reply(s, ex);
        if think.is_none() {
            *session = None;
        }
        think
    }

    /// Waits out a think time; false when the phase is over meanwhile.
    async fn pause(&self, think: Option<Duration>) -> bool {
        let Some(d) = think.filter(|d| !d.is_zero()) else {
            return true;
        };
        let until = self
            .gate
            .stop_at
            .map_or(d, |s| d.min(s.saturating_duration_since(Instant::now())));
        tokio::select! {
            biased;
            () = self.abort.cancelled() => false,
            () = self.gate.stop.cancelled() => false,
            () = self.gate.exhausted.cancelled() => false,
            () = tokio::time::sleep(until) => true,
        }
    }
}

fn to_record(
    ex: Option<Exchange>,
    req: &PreparedRequest,
    phase: BenchmarkPhase,
    level: usize,
    t: Ticket,
) -> RequestRecord {
    let now = Instant::now();
    let ex = ex.unwrap_or_else(|| Exchange {
        send: t.intended.max(now),
        head: None,
        end: now,
        status: None,
        outcome: Outcome {
            error: Some(err(
                ErrorKind::Cancelled,
                Some(499),
                "cancelled: the run stopped before this request finished".into(),
            )),
            ..Outcome::default()
        },
        output_tokens_client: None,
        reasoning_tokens_client: None,
        connect: None,
    });
    RequestRecord {
        index: t.index,
        phase,
        level,
        intended: t.intended,
        send: ex.send,
        head: ex.head,
        first_answer: ex.outcome.first_answer,
        responses: ex.outcome.responses,
        end: ex.end,
        status: ex.status,
        error: ex.outcome.error,
        usage: ex.outcome.usage,
        input_tokens: req.input_tokens,
        output_tokens_client: ex.output_tokens_client,
        reasoning_tokens_client: ex.reasoning_tokens_client,
        max_tokens: req.max_tokens,
        connect: ex.connect,
        session: None,
    }
}

/// When in-flight requests are cut off: `grace` after a cancellation or the
/// duration stop; a count-stopped phase waits for every request (each has its
/// own timeout).
struct Watchdog {
    grace: Duration,
    stop_at: Option<Instant>,
    stop: CancellationToken,
    abort: CancellationToken,
}

/// Awaits every lane; the watchdog aborts stragglers after the grace period.
async fn drain(handles: Vec<JoinHandle<Vec<RequestRecord>>>, w: Watchdog) -> Vec<RequestRecord> {
    let watchdog = tokio::spawn(async move {
        let at_stop = async {
            match w.stop_at {
                Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = w.stop.cancelled() => {}
            () = at_stop => {}
        }
        tokio::time::sleep(w.grace).await;
        w.abort.cancel();
    });
    let mut records = Vec::new();
    for h in handles {
        match h.await {
            Ok(r) => records.extend(r),
            Err(e) => tracing::error!("load lane failed: {e}"),
        }
    }
    watchdog.abort();
    let _ = watchdog.await;
    records
}
