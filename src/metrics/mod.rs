//! Pure derivations from raw request records: per-request metrics with AIPerf
//! 0.13's definitions, per-level aggregates, the validity certificate and the
//! key indicators. Nothing here does I/O or reads a clock.

mod aggregate;
mod compare;
mod disturbance;
pub mod gate;
mod indicators;
mod request;
mod sessions;
pub mod slo;
mod stats;
mod validity;

pub use aggregate::{aggregate_level, error_summary, token_count_check};
pub use compare::{compare_levels, metric_delta, run_summary, DEFAULT_NOISE_PERCENT};
pub use indicators::key_indicators;
pub use request::{request_metrics, RequestMetrics, TokenPolicy};
pub use stats::percentile_sorted;
pub use validity::{validity, ClientLoad, CpuContention};

use std::time::{Duration, Instant};

/// Milliseconds between two instants (saturating at zero), as AIPerf reports.
pub fn ms_between(from: Instant, to: Instant) -> f64 {
    to.saturating_duration_since(from).as_nanos() as f64 / 1e6
}

/// A duration in milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e6
}
