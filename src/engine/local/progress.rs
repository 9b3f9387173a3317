//! Live counters of a running benchmark, read by the progress display (and by
//! anything else that reports on the run) while the load loop updates them.
//! Relaxed atomics: readers want a recent figure, not a synchronised one.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Instant;

/// Progress of a run.
#[derive(Debug)]
pub struct Progress {
    /// Requests sent in the current level.
    pub sent: AtomicU64,
    /// Requests finished in the current level.
    pub completed: AtomicU64,
    /// Requests failed in the current level.
    pub errors: AtomicU64,
    /// Index of the level running now.
    pub level: AtomicUsize,
    /// Number of levels in the run.
    pub levels: usize,
    /// Requests per level when stopping by count (0 when by duration).
    pub per_level_target: u64,
    /// Seconds per level when stopping by duration (0 when by count).
    pub per_level_seconds: f64,
    /// True while warmup requests are running.
    pub warming_up: std::sync::atomic::AtomicBool,
    /// When the current level started. Written once per level by the load
    /// loop; the lock is never held across an await.
    pub level_started: Mutex<Option<Instant>>,
}

impl Progress {
    /// Counters for a run of `levels` levels.
    pub fn new(levels: usize, per_level_target: u64, per_level_seconds: f64) -> Self {
        Self {
            sent: AtomicU64::new(0),
            completed: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            level: AtomicUsize::new(0),
            levels,
            per_level_target,
            per_level_seconds,
            warming_up: std::sync::atomic::AtomicBool::new(false),
            level_started: Mutex::new(None),
        }
    }

    /// Resets the per-level counters at the start of level `index`.
    pub(crate) fn start_level(&self, index: usize, warmup: bool) {
        self.sent.store(0, Relaxed);
        self.completed.store(0, Relaxed);
        self.errors.store(0, Relaxed);
        self.level.store(index, Relaxed);
        self.warming_up.store(warmup, Relaxed);
        if let Ok(mut g) = self.level_started.lock() {
            *g = Some(Instant::now());
        }
    }

    /// Notes one finished request.
    pub(crate) fn finished(&self, ok: bool) {
        self.completed.fetch_add(1, Relaxed);
        if !ok {
            self.errors.fetch_add(1, Relaxed);
        }
    }

    /// Seconds since the current level started.
    pub fn level_elapsed(&self) -> f64 {
        self.level_started
            .lock()
            .ok()
            .and_then(|g| g.map(|t| t.elapsed().as_secs_f64()))
            .unwrap_or(0.0)
    }
}
