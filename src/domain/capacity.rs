//! Service-level objectives and the capacity search: the highest load an
//! endpoint serves within its latency targets, found by probing.

use serde::{Deserialize, Serialize};

/// Latency and error targets. Percentile targets judge a level; each
/// request also counts as *good* (goodput, AIPerf's definition) when its
/// own TTFT, ITL and latency are within the corresponding thresholds and it
/// succeeded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// TTFT p99 at most this many ms.
    pub ttft_p99_ms: Option<f64>,
    /// TTFT p90 at most this many ms.
    pub ttft_p90_ms: Option<f64>,
    /// Inter-token latency p99 at most this many ms.
    pub itl_p99_ms: Option<f64>,
    /// End-to-end latency p99 at most this many ms.
    pub e2e_p99_ms: Option<f64>,
    /// Share of failed requests at most this (0–1).
    pub error_rate: Option<f64>,
}

impl Slo {
    /// True when no target is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The per-request TTFT threshold (the tighter of the TTFT targets).
    pub fn ttft_limit_ms(&self) -> Option<f64> {
        match (self.ttft_p99_ms, self.ttft_p90_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The targets, or which one is not a usable number.
    pub fn check(&self) -> Result<(), String> {
        let ms = [
            ("ttft_p99_ms", self.ttft_p99_ms),
            ("ttft_p90_ms", self.ttft_p90_ms),
            ("itl_p99_ms", self.itl_p99_ms),
            ("e2e_p99_ms", self.e2e_p99_ms),
        ];
        for (name, v) in ms {
            if v.is_some_and(|v| !(v.is_finite() && v > 0.0 && v <= 86_400_000.0)) {
                return Err(format!("slo.{name} must be a positive number of ms"));
            }
        }
        if self.error_rate.is_some_and(|e| !(0.0..=1.0).contains(&e)) {
            return Err("slo.error_rate must be between 0 and 1".into());
        }
        Ok(())
    }
}

/// What the capacity search varies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    /// Requests in flight (closed loop), integers.
    #[default]
    Concurrency,
    /// Requests per second (open loop, Poisson arrivals).
    Rate,
}

/// How a capacity search runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CapacitySearch {
    /// The targets a load must meet.
    pub slo: Slo,
    /// Concurrency or rate.
    pub mode: SearchMode,
    /// Lowest load probed (concurrency or requests/s).
    pub min: f64,
    /// Highest load probed.
    pub max: f64,
    /// Seconds the whole search may take.
    pub budget_s: f64,
}

/// One probe as it went, for progress and results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// Level label (`c4`, `r12.5`).
    pub level: String,
    /// The load probed.
    pub load: f64,
    /// Every target met (and the client was not the bottleneck).
    pub passed: bool,
    /// Stopped early: a target was already lost beyond doubt.
    pub stopped_early: bool,
    /// The client was the bottleneck: not a capacity answer.
    pub client_bound: bool,
    /// The probe repeats an earlier one at the same load (the boundary was
    /// within noise).
    pub repeat: bool,
    /// The level's figures the targets are judged on.
    pub figures: SloFigures,
    /// Which targets failed, with their figures.
    pub failed: Vec<String>,
}

/// A level's figures against the targets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SloFigures {
    /// TTFT p99, ms.
    pub ttft_p99_ms: Option<f64>,
    /// TTFT p90, ms.
    pub ttft_p90_ms: Option<f64>,
    /// ITL p99, ms.
    pub itl_p99_ms: Option<f64>,
    /// Latency p99, ms.
    pub e2e_p99_ms: Option<f64>,
    /// Failed requests / requests.
    pub error_rate: f64,
    /// Successful requests per second.
    pub request_throughput: f64,
    /// Requests meeting every target per second.
    pub goodput_rps: Option<f64>,
}

/// The answer of a capacity search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    /// What was varied.
    pub mode: SearchMode,
    /// Highest concurrency meeting every target (concurrency mode).
    pub max_concurrency: Option<u32>,
    /// Highest rate meeting every target, requests/s (rate mode).
    pub max_rate: Option<f64>,
    /// Goodput at that load, requests/s.
    pub goodput_rps: Option<f64>,
    /// Figures at that load.
    pub at_capacity: Option<SloFigures>,
    /// Figures at the lowest load that failed.
    pub at_first_failure: Option<SloFigures>,
    /// `exact` (neighbours probed: the next load up failed), `bounded`
    /// (the budget or the search range ended between two loads), `below_min`
    /// (even the lowest load failed), `above_max` (the highest passed), or
    /// `client_bound` (the client, not the endpoint, limited a probe).
    pub confidence: String,
    /// Every probe in order.
    pub probes: Vec<Probe>,
    /// Seconds the search took.
    pub search_seconds: f64,
    /// Requests sent by all probes.
    pub requests_sent: u64,
    /// What to know about the answer.
    pub notes: Vec<String>,
}
