//! Arrival schedules. Open-loop arrivals are *absolute* offsets from the
//! level's start (offset k of a constant rate is exactly k/rate), so a late
//! wake-up never shifts the requests after it: there is no drift.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::{ArrivalPattern, LoadLevel};
use crate::rng::Rng;

/// When requests of a level may be sent.
#[derive(Debug, Clone)]
pub(crate) enum Schedule {
    /// Closed loop: send whenever one of the concurrency slots is free.
    Closed,
    /// Open loop: send at these offsets from the start.
    Open(Arrivals),
}

impl Schedule {
    /// The schedule of a level; `seed` fixes Poisson gaps, `trace` holds a
    /// replayed trace's offsets (already divided by its speedup).
    pub(crate) fn for_level(level: &LoadLevel, seed: u64, trace: Option<&Arc<[Duration]>>) -> Self {
        match *level {
            LoadLevel::Concurrency { .. } => Self::Closed,
            LoadLevel::Rate { rate, pattern, .. } => {
                let mut a = Arrivals::new(rate, pattern, seed);
                a.trace = trace.cloned();
                Self::Open(a)
            }
        }
    }
}

/// Generator of absolute arrival offsets.
#[derive(Debug, Clone)]
pub(crate) struct Arrivals {
    rate: f64,
    pattern: ArrivalPattern,
    rng: Rng,
    /// Arrivals issued so far.
    k: u64,
    /// Offset of the previous Poisson arrival, seconds.
    poisson_at: f64,
    /// A trace's offsets from its first request; past its end it repeats,
    /// each round one mean gap after the last.
    trace: Option<Arc<[Duration]>>,
}

impl Arrivals {
    pub(crate) fn new(rate: f64, pattern: ArrivalPattern, seed: u64) -> Self {
        Self {
            rate,
            pattern,
            rng: Rng::derive(seed, 0xA771),
            k: 0,
            poisson_at: 0.0,
            trace: None,
        }
    }

    /// Offset of the next arrival from the level's start. The first arrival
    /// is at zero.
    pub(crate) fn next_offset(&mut self) -> Duration {
        let secs = match self.pattern {
            ArrivalPattern::Constant => self.k as f64 / self.rate,
            ArrivalPattern::Poisson => {
                if self.k > 0 {
                    self.poisson_at += self.rng.exponential(1.0 / self.rate);
                }
                self.poisson_at
            }
            ArrivalPattern::Trace => self.trace_offset(),
        };
        self.k += 1;
        Duration::from_secs_f64(secs)
    }

    /// Offset of arrival `k` of a replayed trace (evenly spaced at the
    /// level's rate when there is no trace).
    fn trace_offset(&self) -> f64 {
        let Some(t) = self.trace.as_ref().filter(|t| !t.is_empty()) else {
            return self.k as f64 / self.rate;
        };
        let n = t.len() as u64;
        let span = t[t.len() - 1].as_secs_f64();
        let round = span + span / n as f64;
        t[(self.k % n) as usize].as_secs_f64() + (self.k / n) as f64 * round
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(rate: f64, pattern: ArrivalPattern, n: usize) -> Vec<f64> {
        let mut a = Arrivals::new(rate, pattern, 7);
        (0..n).map(|_| a.next_offset().as_secs_f64()).collect()
    }

    #[test]
    fn constant_rate_is_exact_and_does_not_drift() {
        let o = offsets(3.0, ArrivalPattern::Constant, 300_001);
        assert_eq!(o[0], 0.0);
        // After 300k arrivals the offset is still exactly k/rate (to 1 ns).
        assert!((o[300_000] - 100_000.0).abs() < 1e-9, "{}", o[300_000]);
        assert!((o[1] - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn poisson_hits_its_mean_rate_and_gaps_look_exponential() {
        let rate = 250.0;
        let o = offsets(rate, ArrivalPattern::Poisson, 100_001);
        let achieved = 100_000.0 / o[100_000];
        assert!((achieved - rate).abs() / rate < 0.01, "rate {achieved}");
        let gaps: Vec<f64> = o.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|g| *g >= 0.0));
        // Exponential: std ≈ mean, and P(gap > mean) ≈ e^-1.
        let mean = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let std = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / gaps.len() as f64).sqrt();
        assert!((std / mean - 1.0).abs() < 0.03, "cv {}", std / mean);
        let above = gaps.iter().filter(|g| **g > mean).count() as f64 / gaps.len() as f64;
        assert!((above - (-1.0f64).exp()).abs() < 0.01, "{above}");
    }

    #[test]
    fn a_trace_is_replayed_on_its_own_timeline_and_then_repeats() {
        let t: Arc<[Duration]> = [0, 10, 40]
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect();
        let level = LoadLevel::Rate {
            rate: 75.0,
            pattern: ArrivalPattern::Trace,
            max_concurrency: None,
        };
        let Schedule::Open(mut a) = Schedule::for_level(&level, 1, Some(&t)) else {
            panic!("open loop");
        };
        let ms: Vec<f64> = (0..5)
            .map(|_| a.next_offset().as_secs_f64() * 1e3)
            .collect();
        let round = 40.0 + 40.0 / 3.0;
        for (got, want) in ms.iter().zip([0.0, 10.0, 40.0, round, round + 10.0]) {
            assert!((got - want).abs() < 1e-6, "{ms:?}");
        }
    }

    #[test]
    fn poisson_is_reproducible_from_the_seed() {
        assert_eq!(
            offsets(10.0, ArrivalPattern::Poisson, 50),
            offsets(10.0, ArrivalPattern::Poisson, 50)
        );
    }
}
