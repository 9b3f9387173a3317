//! The simulator's own record of what it sent and when: ground truth that
//! tests compare the client's measurements with.

use std::sync::Mutex;
use std::time::Instant;

use super::config::Fault;

/// What the simulator did for one request.
#[derive(Debug, Clone)]
pub struct TruthRecord {
    /// The client's `x-request-id`.
    pub request_id: String,
    /// When the request reached the simulator's socket (the kernel's receive
    /// timestamp), else when its head had been parsed.
    pub received: Instant,
    /// When it got a generation slot and started its time to first token
    /// (`received` when slots are unlimited): the difference is queueing.
    pub admitted: Instant,
    /// When each content chunk was handed to the connection.
    pub chunks: Vec<Instant>,
    /// Tokens generated.
    pub completion_tokens: u32,
    /// Prompt tokens counted.
    pub prompt_tokens: u32,
    /// The fault injected, if any.
    pub fault: Option<Fault>,
}

/// Append-only log shared by every connection. The lock is held only to push
/// or copy, never across an await.
#[derive(Debug, Default)]
pub struct TruthLog {
    records: Mutex<Vec<TruthRecord>>,
}

impl TruthLog {
    /// Appends a record.
    pub fn push(&self, r: TruthRecord) {
        if let Ok(mut g) = self.records.lock() {
            g.push(r);
        }
    }

    /// A copy of every record so far.
    pub fn snapshot(&self) -> Vec<TruthRecord> {
        self.records.lock().map(|g| g.clone()).unwrap_or_default()
    }
}
