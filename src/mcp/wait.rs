//! get_status with `wait_seconds`: re-reads the run until its state changes
//! or the wait ends, sending progress notifications (requests done of the
//! run's total) when the client gave a progress token.

use std::time::{Duration, Instant};

use rmcp::model::ProgressNotificationParam;
use rmcp::service::RequestContext;
use rmcp::RoleServer;

use super::ops;
use super::params::{ProgressInfo, Status};
use super::tool_error::ToolError;
use crate::domain::RunRecord;
use crate::jobs::Jobs;

/// Progress notifications during a wait are at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// The run's status once its state leaves `r.status`, or after `wait`
/// seconds (then `timed_out: true`).
pub(super) async fn until_change(
    jobs: &Jobs,
    r: &RunRecord,
    wait: f64,
    ctx: &RequestContext<RoleServer>,
) -> Result<Status, ToolError> {
    let deadline = Instant::now() + Duration::from_secs_f64(wait);
    let mut notes = Notes::new(ctx);
    loop {
        let (rec, changed) = ops::poll_change(jobs, &r.run_id, r.status)?;
        let now = Instant::now();
        if changed || now >= deadline {
            return Ok(ops::status(&rec, !changed));
        }
        notes.maybe_send(&rec, now).await;
        tokio::time::sleep(ops::POLL.min(deadline - now)).await;
    }
}

/// The progress notifications of one wait.
struct Notes<'a> {
    ctx: &'a RequestContext<RoleServer>,
    token: Option<rmcp::model::ProgressToken>,
    /// Work done in the last notification: each must report more.
    sent: u64,
    last: Option<Instant>,
}

impl<'a> Notes<'a> {
    fn new(ctx: &'a RequestContext<RoleServer>) -> Self {
        Self {
            ctx,
            token: ctx.meta.get_progress_token(),
            sent: 0,
            last: None,
        }
    }

    /// Sends one notification when a token was given, one is due and the
    /// run has done more since the last.
    async fn maybe_send(&mut self, rec: &RunRecord, now: Instant) {
        let due = self
            .last
            .is_none_or(|t| now.duration_since(t) >= PROGRESS_EVERY);
        let Some(token) = self.token.clone().filter(|_| due) else {
            return;
        };
        let Some(p) = ops::read_progress(std::path::Path::new(&rec.run_dir)) else {
            return;
        };
        self.last = Some(now);
        let (done, total) = ops::work_done(&p);
        if done <= self.sent {
            return;
        }
        self.sent = done;
        let _ = self
            .ctx
            .peer
            .notify_progress(note(token, &p, done, total))
            .await;
    }
}

fn note(
    token: rmcp::model::ProgressToken,
    p: &ProgressInfo,
    done: u64,
    total: Option<u64>,
) -> ProgressNotificationParam {
    let note =
        ProgressNotificationParam::new(token, done as f64).with_message(ops::progress_line(p));
    match total {
        Some(total) => note.with_total(total as f64),
        None => note,
    }
}
