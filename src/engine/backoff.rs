//! How a cloud job (a benchmark job, a processing job) is polled.

use std::time::Duration;

/// Polling backoff: first wait, growth factor and ceiling.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First wait.
    pub first: Duration,
    /// Longest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_secs(2),
            max: Duration::from_secs(30),
        }
    }
}
