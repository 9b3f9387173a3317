//! The built-in simulated endpoint as a run sees it: the knobs a run sets,
//! with their defaults defined here once for the shell, the MCP tools and
//! the runner alike.

use serde::{Deserialize, Serialize};

/// Simulator settings of a run against `sim`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimSettings {
    /// Time to first token, ms.
    pub ttft_ms: f64,
    /// Inter-token latency, ms.
    pub itl_ms: f64,
    /// Uniform jitter on each token gap, ± ms.
    pub itl_jitter_ms: f64,
    /// Probability of an HTTP 500 per request.
    pub error_rate: f64,
    /// Generation slots: at most this many requests generate at once, the
    /// others queue before their first token. `None`: unlimited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slots: Option<u32>,
}

impl Default for SimSettings {
    /// 20 ms to the first token, then 2 ms per token, no faults.
    fn default() -> Self {
        Self {
            ttft_ms: 20.0,
            itl_ms: 2.0,
            itl_jitter_ms: 0.0,
            error_rate: 0.0,
            slots: None,
        }
    }
}

impl SimSettings {
    /// The defaults with the knobs a caller set (`None`: the default's).
    pub fn with(
        ttft_ms: Option<f64>,
        itl_ms: Option<f64>,
        itl_jitter_ms: Option<f64>,
        error_rate: Option<f64>,
        slots: Option<u32>,
    ) -> Self {
        let d = Self::default();
        Self {
            ttft_ms: ttft_ms.unwrap_or(d.ttft_ms),
            itl_ms: itl_ms.unwrap_or(d.itl_ms),
            itl_jitter_ms: itl_jitter_ms.unwrap_or(d.itl_jitter_ms),
            error_rate: error_rate.unwrap_or(d.error_rate),
            slots: slots.or(d.slots),
        }
    }

    /// The settings, or why they cannot be simulated.
    pub fn check(&self) -> Result<(), String> {
        let ms = |v: f64| v.is_finite() && (0.0..=600_000.0).contains(&v);
        if !(ms(self.ttft_ms) && ms(self.itl_ms) && ms(self.itl_jitter_ms)) {
            return Err("simulator latencies must be between 0 and 600000 ms".into());
        }
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err("the simulator's error rate must be between 0 and 1".into());
        }
        if self.slots == Some(0) {
            return Err("the simulator needs at least one generation slot".into());
        }
        Ok(())
    }
}
