//! Reconciliation: what becomes of active runs whose runner is gone. A
//! local run's runner that died leaves the run `interrupted` (partial
//! results kept); a run recorded but whose runner never started (a crash
//! between the two) fails after a grace period instead of staying `queued`
//! for ever; SageMaker and staging runs get a new runner, which resumes,
//! with a growing pause between attempts and a limit.

use std::time::Duration;

use super::{runner, JobError, Jobs};
use crate::domain::{RunRecord, RunState};
use crate::wallclock::Anchor;

/// How long a recorded run may wait for its runner to start.
pub(super) const QUEUED_GRACE: Duration = Duration::from_secs(60);
/// Runners started again for one run before it is given up.
const MAX_RESPAWNS: u32 = 8;
/// Pause before the first new runner; it doubles with each one.
const RESPAWN_BACKOFF: Duration = Duration::from_secs(2);
/// Longest pause between new runners.
const RESPAWN_BACKOFF_MAX: Duration = Duration::from_secs(300);

/// What reconciliation does with one active run.
#[derive(Debug, PartialEq)]
enum Verdict {
    /// Its runner lives (or may still start): nothing.
    Keep,
    /// Start a new runner for it.
    Resume,
    /// End it in this state, for this reason.
    End(RunState, String),
}

impl Jobs {
    /// Applies the verdict of every active run; returns the runs changed.
    /// The state file is written only when something changed.
    pub fn reconcile(&self) -> Result<Vec<String>, JobError> {
        let now = chrono::Utc::now();
        let stamp = Anchor::now().rfc3339(std::time::Instant::now());
        let (mut changed, resume, ended) = self.state().update(|doc| {
            let mut changed = Vec::new();
            let mut resume = Vec::new();
            let mut ended = Vec::new();
            for r in doc.runs.iter_mut().filter(|r| r.status.is_active()) {
                match verdict(r, now) {
                    Verdict::Keep => {}
                    Verdict::Resume => {
                        r.respawns += 1;
                        r.respawned_at = Some(stamp.clone());
                        resume.push(r.clone());
                    }
                    Verdict::End(state, why) => {
                        r.status = state;
                        r.finished_at = Some(stamp.clone());
                        r.failure = Some(why);
                        changed.push(r.run_id.clone());
                        ended.push(r.run_dir.clone());
                    }
                }
            }
            (changed, resume, ended)
        })?;
        // Their writers are gone: half-written files are only litter.
        for dir in ended {
            crate::storage::remove_temp_files(std::path::Path::new(&dir));
        }
        // A runner that finds another live runner for its run exits at once,
        // so two servers resuming the same run start one follower.
        for r in resume {
            match runner::spawn(&self.exe, &self.home, &r, &runner::RunSecrets::default()) {
                Ok(_) => changed.push(r.run_id),
                Err(e) => tracing::warn!("cannot resume run {}: {e}", r.run_id),
            }
        }
        Ok(changed)
    }
}

/// True when the run's runner lives, or it was recorded so recently that
/// its runner may still be starting.
pub(super) fn has_runner(r: &RunRecord, now: chrono::DateTime<chrono::Utc>) -> bool {
    match r.runner_pid {
        Some(_) => runner::is_our_runner(r),
        None => age(&r.created_at, now).is_none_or(|a| a < QUEUED_GRACE),
    }
}

fn verdict(r: &RunRecord, now: chrono::DateTime<chrono::Utc>) -> Verdict {
    if has_runner(r, now) {
        return Verdict::Keep;
    }
    if r.runner_pid.is_none() {
        return Verdict::End(
            RunState::Failed,
            format!(
                "its runner never started within {} s (the starting process may have crashed); start the run again",
                QUEUED_GRACE.as_secs()
            ),
        );
    }
    if !r.engine.resumable() {
        return Verdict::End(
            RunState::Interrupted,
            "the runner process exited without finishing; partial results are kept".into(),
        );
    }
    if r.respawns >= MAX_RESPAWNS {
        return Verdict::End(
            RunState::Failed,
            format!(
                "its runner exited {MAX_RESPAWNS} times without finishing; see runner.log in the run directory"
            ),
        );
    }
    let wait = backoff(r.respawns);
    match r.respawned_at.as_deref().and_then(|t| age(t, now)) {
        Some(a) if a < wait => Verdict::Keep,
        _ => Verdict::Resume,
    }
}

/// The pause before the next new runner after `respawns` of them.
fn backoff(respawns: u32) -> Duration {
    RESPAWN_BACKOFF
        .saturating_mul(1 << respawns.min(16))
        .min(RESPAWN_BACKOFF_MAX)
}

/// How long ago an RFC 3339 time was; `None` when it does not parse.
fn age(rfc3339: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).ok()?;
    (now - t.with_timezone(&chrono::Utc))
        .to_std()
        .ok()
        .or(Some(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_stops_at_its_cap() {
        assert_eq!(backoff(0), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(16));
        assert_eq!(backoff(12), RESPAWN_BACKOFF_MAX);
    }

    #[test]
    fn ages_of_recorded_times() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-03T10:00:00Z")
            .expect("time")
            .with_timezone(&chrono::Utc);
        assert_eq!(
            age("2026-12-03T09:59:00.500Z", now),
            Some(Duration::from_millis(59_500))
        );
        assert_eq!(age("garbage", now), None);
        assert_eq!(age("2026-12-03T10:00:05Z", now), Some(Duration::ZERO));
    }
}
