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
    /// TTFT of this level's successful streamed requests so far (live view).
    pub ttft: LiveHistogram,
    /// Requests over each per-request threshold in this level, when a
    /// capacity search watches its probes.
    pub watch: Option<SloWatch>,
    /// The capacity search's probes so far (written by the search, shown
    /// by status). The lock is never held across an await.
    pub probes: Mutex<Vec<crate::domain::Probe>>,
}

/// Live counts of requests beyond service-level thresholds.
#[derive(Debug, Default)]
pub struct SloWatch {
    /// The thresholds.
    pub slo: crate::domain::Slo,
    /// Requests whose TTFT exceeded `ttft_p99_ms` (or had none).
    pub over_ttft_p99: AtomicU64,
    /// Requests whose TTFT exceeded `ttft_p90_ms` (or had none).
    pub over_ttft_p90: AtomicU64,
    /// Requests whose latency exceeded `e2e_p99_ms`.
    pub over_e2e_p99: AtomicU64,
}

impl SloWatch {
    /// Watches for `slo`'s thresholds.
    pub fn new(slo: crate::domain::Slo) -> Self {
        Self {
            slo,
            ..Self::default()
        }
    }

    fn observe(&self, ttft_ms: Option<f64>, latency_ms: Option<f64>) {
        let over = |v: Option<f64>, t: Option<f64>| t.is_some_and(|t| v.is_none_or(|v| v > t));
        if over(ttft_ms, self.slo.ttft_p99_ms) {
            self.over_ttft_p99.fetch_add(1, Relaxed);
        }
        if over(ttft_ms, self.slo.ttft_p90_ms) {
            self.over_ttft_p90.fetch_add(1, Relaxed);
        }
        if over(latency_ms, self.slo.e2e_p99_ms) {
            self.over_e2e_p99.fetch_add(1, Relaxed);
        }
    }

    fn clear(&self) {
        for c in [&self.over_ttft_p99, &self.over_ttft_p90, &self.over_e2e_p99] {
            c.store(0, Relaxed);
        }
    }
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
            ttft: LiveHistogram::default(),
            watch: None,
            probes: Mutex::new(Vec::new()),
        }
    }

    /// The same counters, also counting requests beyond `watch`'s thresholds.
    pub fn watching(mut self, watch: SloWatch) -> Self {
        self.watch = Some(watch);
        self
    }

    /// Resets the per-level counters at the start of level `index`.
    pub(crate) fn start_level(&self, index: usize, warmup: bool) {
        self.sent.store(0, Relaxed);
        self.completed.store(0, Relaxed);
        self.errors.store(0, Relaxed);
        self.level.store(index, Relaxed);
        self.warming_up.store(warmup, Relaxed);
        self.ttft.clear();
        if let Some(w) = &self.watch {
            w.clear();
        }
        if let Ok(mut g) = self.level_started.lock() {
            *g = Some(Instant::now());
        }
    }

    /// Notes one finished request.
    pub(crate) fn finished(&self, rec: &crate::domain::RequestRecord, streaming: bool) {
        self.completed.fetch_add(1, Relaxed);
        if !rec.is_ok() {
            self.errors.fetch_add(1, Relaxed);
            return;
        }
        let ttft = streaming
            .then(|| rec.responses.first())
            .flatten()
            .map(|t| crate::metrics::ms_between(rec.send, *t));
        if let Some(ms) = ttft {
            self.ttft.record(ms);
        }
        if let Some(w) = &self.watch {
            let latency = rec
                .responses
                .last()
                .map(|t| crate::metrics::ms_between(rec.send, *t));
            w.observe(ttft, latency);
        }
    }

    /// The counters as of now, for other processes.
    pub fn snapshot(&self) -> crate::domain::ProgressSnapshot {
        let elapsed = self.level_elapsed();
        let completed = self.completed.load(Relaxed);
        crate::domain::ProgressSnapshot {
            level_index: self.level.load(Relaxed),
            levels: self.levels,
            warming_up: self.warming_up.load(Relaxed),
            sent: self.sent.load(Relaxed),
            completed,
            errors: self.errors.load(Relaxed),
            per_level_requests: self.per_level_target,
            per_level_seconds: self.per_level_seconds,
            level_elapsed_s: elapsed,
            requests_per_s: if elapsed > 0.0 {
                completed as f64 / elapsed
            } else {
                0.0
            },
            ttft_p50_ms: self.ttft.p50(),
            probes: self.probes.lock().map(|p| p.clone()).unwrap_or_default(),
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

/// Buckets per decade of the live histogram (≈ 4.7% wide each).
const BUCKETS_PER_DECADE: f64 = 50.0;
/// Decades covered, from 0.01 ms up to 100 s.
const DECADES: usize = 7;
const LOWEST_MS: f64 = 0.01;

/// A lock-free log-bucket histogram for live figures (interim TTFT p50). The
/// final report never uses it: exact statistics come from the records.
#[derive(Debug)]
pub struct LiveHistogram {
    buckets: Vec<AtomicU64>,
}

impl Default for LiveHistogram {
    fn default() -> Self {
        Self {
            buckets: (0..=DECADES * BUCKETS_PER_DECADE as usize)
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }
}

impl LiveHistogram {
    /// Counts one value (ms).
    pub fn record(&self, ms: f64) {
        let i = ((ms.max(LOWEST_MS) / LOWEST_MS).log10() * BUCKETS_PER_DECADE) as usize;
        self.buckets[i.min(self.buckets.len() - 1)].fetch_add(1, Relaxed);
    }

    /// Forgets every value.
    pub fn clear(&self) {
        self.buckets.iter().for_each(|b| b.store(0, Relaxed));
    }

    /// Approximate median (the middle of the median's bucket), if any value.
    pub fn p50(&self) -> Option<f64> {
        self.quantile(0.5)
    }

    /// Approximate `q` quantile (0–1; the middle of its bucket), if any value.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = (q * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        let i = counts.iter().position(|&c| {
            seen += c;
            seen >= rank
        })?;
        Some(LOWEST_MS * 10f64.powf((i as f64 + 0.5) / BUCKETS_PER_DECADE))
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Relaxed)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::LiveHistogram;

    #[test]
    fn live_median_is_within_a_bucket_of_the_exact_one() {
        let h = LiveHistogram::default();
        assert_eq!(h.p50(), None);
        for v in [10.0, 20.0, 50.0, 51.0, 52.0, 400.0, 9000.0] {
            h.record(v);
        }
        let p50 = h.p50().expect("values");
        assert!((p50 - 51.0).abs() / 51.0 < 0.05, "{p50}");
        h.record(0.0);
        h.record(1e9);
        h.clear();
        assert_eq!(h.p50(), None);
    }
}
