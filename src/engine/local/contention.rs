//! CPU contention while a level runs: how long this process's threads
//! waited on a run queue for a CPU (per-thread scheduler statistics), and
//! how much CPU time the hypervisor took from the machine (steal). A thread
//! that waits for a CPU reads its socket late, so every timestamp it takes
//! is late by the wait: the validity certificate compares the figure with
//! what the percentiles can tolerate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::progress::LiveHistogram;
use crate::metrics::CpuContention;
use crate::sys;

/// The counters at one instant.
#[derive(Debug, Clone)]
pub(crate) struct ContentionSnapshot {
    /// Per thread id: run-queue wait so far, times scheduled so far.
    threads: HashMap<u32, (Duration, u64)>,
    /// The machine's busy and stolen CPU time so far.
    machine: Option<(Duration, Duration)>,
    /// This process's CPU time so far.
    own: Duration,
}

impl ContentionSnapshot {
    /// Reads the counters now.
    pub(crate) fn take() -> Self {
        Self {
            threads: sys::thread_schedstats()
                .into_iter()
                .map(|(tid, wait, slices)| (tid, (wait, slices)))
                .collect(),
            machine: sys::machine_cpu_time(),
            own: sys::process_cpu_time(),
        }
    }

    /// What happened between `self` and `later`; `None` when the kernel
    /// keeps no scheduler statistics.
    pub(crate) fn until(&self, later: &Self) -> Option<CpuContention> {
        if later.threads.is_empty() {
            return None;
        }
        let (mut wait, mut slices) = (Duration::ZERO, 0u64);
        for (tid, &(w1, s1)) in &later.threads {
            // A thread started during the level counts from zero.
            let (w0, s0) = self.threads.get(tid).copied().unwrap_or_default();
            wait += w1.saturating_sub(w0);
            slices += s1.saturating_sub(s0);
        }
        let machine = match (self.machine, later.machine) {
            (Some((b0, s0)), Some((b1, s1))) => {
                Some((b1.saturating_sub(b0), s1.saturating_sub(s0)))
            }
            _ => None,
        };
        let own = later.own.saturating_sub(self.own);
        Some(CpuContention {
            run_queue_wait: wait,
            timeslices: slices,
            steal: machine.map(|m| m.1),
            others: machine.map(|m| m.0.saturating_sub(own)),
        })
    }
}

/// How long the wake-up probe sleeps, in turn: a scheduler favours a
/// thread that sleeps briefly, so the probe also sleeps as long as the
/// gaps between a stream's tokens, where the delays show.
const PROBE_PERIODS: [Duration; 3] = [
    Duration::from_millis(2),
    Duration::from_millis(5),
    Duration::from_millis(10),
];
/// Fewest wake-ups a p99 is given from (a shorter level gets none).
const MIN_SAMPLES: u64 = 100;

/// A thread that sleeps 2, 5 and 10 ms in turn and records how late it
/// wakes up (in a live histogram: ≈ 5% buckets, fixed memory): the delay
/// any thread of this process waits for a CPU after its socket or timer
/// becomes ready, which every timestamp it takes then carries.
#[derive(Debug)]
pub(crate) struct WakeupProbe {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<LiveHistogram>>,
}

impl WakeupProbe {
    /// Starts the probe thread (`None` if no thread can be started).
    pub(crate) fn start() -> Option<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("mcc-bench-wakeup".into())
            .spawn(move || probe_loop(&flag))
            .ok()?;
        Some(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops the probe; returns the lateness p50 and p99, ms, once it has
    /// enough samples for a p99 (about half a second of probing).
    pub(crate) fn finish(mut self) -> Option<(f64, f64)> {
        self.stop.store(true, Ordering::Relaxed);
        let lateness = self.thread.take()?.join().ok()?;
        if lateness.count() < MIN_SAMPLES {
            return None;
        }
        Some((lateness.quantile(0.50)?, lateness.quantile(0.99)?))
    }
}

impl Drop for WakeupProbe {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn probe_loop(stop: &AtomicBool) -> LiveHistogram {
    sys::tighten_timer_slack();
    let lateness = LiveHistogram::default();
    for period in PROBE_PERIODS.iter().cycle() {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let t = Instant::now();
        std::thread::sleep(*period);
        lateness.record(t.elapsed().saturating_sub(*period).as_secs_f64() * 1e3);
    }
    lateness
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(threads: &[(u32, u64, u64)], steal_ms: u64) -> ContentionSnapshot {
        let ms = Duration::from_millis;
        ContentionSnapshot {
            threads: threads.iter().map(|&(t, w, s)| (t, (ms(w), s))).collect(),
            machine: Some((ms(100 * steal_ms), ms(steal_ms))),
            own: ms(10 * steal_ms),
        }
    }

    #[test]
    fn deltas_cover_new_threads_and_ignore_ended_ones() {
        let a = snap(&[(1, 10, 100), (2, 5, 50), (3, 1, 1)], 7);
        let b = snap(&[(1, 30, 300), (2, 5, 60), (4, 2, 20)], 9);
        let c = a.until(&b).expect("figures");
        assert_eq!(c.run_queue_wait, Duration::from_millis(22));
        assert_eq!(c.timeslices, 230);
        assert_eq!(c.steal, Some(Duration::from_millis(2)));
        assert_eq!(c.others, Some(Duration::from_millis(200 - 20)));
        assert!(a.until(&snap(&[], 0)).is_none());
    }

    #[test]
    fn probe_quantiles_come_from_the_histogram() {
        let h = LiveHistogram::default();
        (0..98).for_each(|_| h.record(0.055));
        (0..2).for_each(|_| h.record(3.005));
        let near =
            |got: Option<f64>, want: f64| got.is_some_and(|g| (g - want).abs() / want < 0.05);
        assert!(near(h.quantile(0.5), 0.055), "{:?}", h.quantile(0.5));
        assert!(near(h.quantile(0.99), 3.005), "{:?}", h.quantile(0.99));
        assert_eq!(h.count(), 100);
        assert_eq!(LiveHistogram::default().quantile(0.5), None);
        let probe = WakeupProbe::start().expect("probe thread");
        std::thread::sleep(Duration::from_millis(800));
        let (p50, p99) = probe.finish().expect("samples");
        assert!(p50 > 0.0 && p99 >= p50, "{p50} {p99}");
    }
}
