//! Knobs of the simulated endpoint.

use serde::{Deserialize, Serialize};

/// Latency model and fault injection of the simulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// Model name served by `/v1/models` and echoed in responses.
    pub model: String,
    /// Time to first token, ms.
    pub ttft_ms: f64,
    /// Inter-token latency, ms.
    pub itl_ms: f64,
    /// Each token gap is `itl_ms` plus a uniform jitter in ±`itl_jitter_ms`.
    pub itl_jitter_ms: f64,
    /// Output tokens when the request sets no `max_tokens`.
    pub default_max_tokens: u32,
    /// Seed of jitter, words and fault draws.
    pub seed: u64,
    /// Fault probabilities.
    pub faults: Faults,
    /// Generation slots: at most this many requests generate at once, the
    /// others wait before their first token (a finite capacity whose true
    /// value tests know). `None`: unlimited.
    #[serde(default)]
    pub slots: Option<u32>,
}

/// Probability (0–1) of each fault per request. At most one fault hits a
/// request; they are drawn in the order listed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Answer HTTP 500.
    pub http_500: f64,
    /// Answer HTTP 429.
    pub http_429: f64,
    /// Cut the connection half-way through the stream.
    pub cut: f64,
    /// Send an `event: error` half-way through a 200 stream.
    pub error_event: f64,
    /// Send a malformed chunk half-way through the stream.
    pub malformed: f64,
    /// Stall `stall_ms` before the first token.
    pub stall: f64,
    /// Length of a stall, ms.
    pub stall_ms: f64,
}

/// The fault a request drew.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// HTTP 500.
    Http500,
    /// HTTP 429.
    Http429,
    /// Connection cut mid-stream.
    Cut,
    /// Error event inside the stream.
    ErrorEvent,
    /// Malformed chunk.
    Malformed,
    /// Stall before the first token.
    Stall,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            model: "mcc-bench-sim".to_owned(),
            ttft_ms: 50.0,
            itl_ms: 10.0,
            itl_jitter_ms: 0.0,
            default_max_tokens: 16,
            seed: 0,
            faults: Faults::default(),
            slots: None,
        }
    }
}

impl SimConfig {
    /// The configuration of an in-process simulator for a run's settings.
    pub fn for_run(s: &crate::domain::SimSettings, seed: u64) -> Self {
        Self {
            ttft_ms: s.ttft_ms,
            itl_ms: s.itl_ms,
            itl_jitter_ms: s.itl_jitter_ms,
            seed,
            faults: Faults {
                http_500: s.error_rate,
                ..Faults::default()
            },
            slots: s.slots,
            ..Self::default()
        }
    }
}

impl Faults {
    /// Picks the fault for a draw `u` uniform in [0, 1).
    pub fn pick(&self, u: f64) -> Option<Fault> {
        let table = [
            (self.http_500, Fault::Http500),
            (self.http_429, Fault::Http429),
            (self.cut, Fault::Cut),
            (self.error_event, Fault::ErrorEvent),
            (self.malformed, Fault::Malformed),
            (self.stall, Fault::Stall),
        ];
        let mut acc = 0.0;
        for (p, fault) in table {
            acc += p.clamp(0.0, 1.0);
            if u < acc {
                return Some(fault);
            }
        }
        None
    }

    /// Problems with the probabilities, if any.
    pub fn problems(&self) -> Option<String> {
        let all = [
            self.http_500,
            self.http_429,
            self.cut,
            self.error_event,
            self.malformed,
            self.stall,
        ];
        if all.iter().any(|p| !(0.0..=1.0).contains(p)) {
            return Some("fault probabilities must be between 0 and 1".to_owned());
        }
        (all.iter().sum::<f64>() > 1.0 + 1e-9)
            .then(|| "fault probabilities must add up to at most 1".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_drawn_by_cumulative_probability() {
        let f = Faults {
            http_500: 0.1,
            cut: 0.2,
            ..Faults::default()
        };
        assert_eq!(f.pick(0.05), Some(Fault::Http500));
        assert_eq!(f.pick(0.15), Some(Fault::Cut));
        assert_eq!(f.pick(0.31), None);
        assert!(f.problems().is_none());
        assert!(Faults {
            cut: 0.7,
            stall: 0.7,
            ..Faults::default()
        }
        .problems()
        .is_some());
        assert!(Faults {
            cut: -0.1,
            ..Faults::default()
        }
        .problems()
        .is_some());
    }
}
