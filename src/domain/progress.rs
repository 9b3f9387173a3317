//! What a run's executor tells other processes while it works: the live
//! progress snapshot (`progress.json` in the run directory). The executor
//! writes it, servers and the shell read it; `storage` is the only code
//! that touches the file.

use serde::{Deserialize, Serialize};

/// Live counters of a run, as of one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProgressSnapshot {
    /// Index of the level being measured (0-based).
    pub level_index: usize,
    /// Levels of the run.
    pub levels: usize,
    /// True while warmup requests are being sent.
    pub warming_up: bool,
    /// Requests sent in this level.
    pub sent: u64,
    /// Requests finished in this level.
    pub completed: u64,
    /// Requests failed in this level.
    pub errors: u64,
    /// Requests per level (0 when the level stops by duration).
    pub per_level_requests: u64,
    /// Seconds per level (0 when the level stops by count).
    pub per_level_seconds: f64,
    /// Seconds since the level started.
    pub level_elapsed_s: f64,
    /// Finished requests per second in this level.
    pub requests_per_s: f64,
    /// Live median TTFT of this level, ms.
    pub ttft_p50_ms: Option<f64>,
    /// A capacity search's probes so far.
    pub probes: Vec<super::Probe>,
}

impl ProgressSnapshot {
    /// Seconds left in the level, when it can be told.
    pub fn eta_s(&self) -> Option<f64> {
        if self.per_level_requests > 0 && self.requests_per_s > 0.0 {
            let left = self.per_level_requests.saturating_sub(self.completed);
            Some(left as f64 / self.requests_per_s)
        } else if self.per_level_seconds > 0.0 {
            Some((self.per_level_seconds - self.level_elapsed_s).max(0.0))
        } else {
            None
        }
    }
}
