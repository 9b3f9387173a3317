//! Per-session figures of a multi-turn level: how many sessions ran and
//! completed, their turns and durations, and TTFT, latency and input
//! length by turn index (how the growing history moves each).

use std::collections::BTreeMap;
use std::time::Instant;

use super::ms_between;
use super::request::RequestMetrics;
use crate::domain::{RequestRecord, SessionMetrics, Stats, TurnMetrics};

/// One session's turns as the level saw them.
#[derive(Default)]
struct Seen {
    planned: u32,
    turns: u32,
    failed: bool,
    first_send: Option<Instant>,
    last_end: Option<Instant>,
}

/// The session figures of `records` (`ok` pairs the successful ones with
/// their metrics); `None` when no record belongs to a session.
pub(crate) fn session_metrics(
    records: &[RequestRecord],
    ok: &[(&RequestRecord, RequestMetrics)],
) -> Option<SessionMetrics> {
    let mut sessions: BTreeMap<u64, Seen> = BTreeMap::new();
    for r in records {
        let Some(t) = r.session else { continue };
        let s = sessions.entry(t.id).or_default();
        s.planned = t.planned;
        s.turns += 1;
        s.failed |= !r.is_ok();
        s.first_send = Some(s.first_send.map_or(r.send, |f| f.min(r.send)));
        s.last_end = Some(s.last_end.map_or(r.end, |l| l.max(r.end)));
    }
    if sessions.is_empty() {
        return None;
    }
    let complete = |s: &&Seen| !s.failed && s.turns >= s.planned;
    let durations: Vec<f64> = sessions
        .values()
        .filter(complete)
        .filter_map(|s| Some(ms_between(s.first_send?, s.last_end?)))
        .collect();
    let turns: Vec<f64> = sessions.values().map(|s| f64::from(s.turns)).collect();
    Some(SessionMetrics {
        session_count: sessions.len() as u64,
        completed_session_count: sessions.values().filter(complete).count() as u64,
        turns_per_session: Stats::from_values(&turns),
        session_duration: Stats::from_values(&durations),
        by_turn: by_turn(ok),
    })
}

fn by_turn(ok: &[(&RequestRecord, RequestMetrics)]) -> Vec<TurnMetrics> {
    let mut groups: BTreeMap<u32, Vec<&RequestMetrics>> = BTreeMap::new();
    for (r, m) in ok {
        if let Some(t) = r.session.filter(|t| t.turn < SessionMetrics::MAX_TURN_ROWS) {
            groups.entry(t.turn).or_default().push(m);
        }
    }
    groups
        .into_iter()
        .map(|(turn, ms)| {
            let col = |f: &dyn Fn(&RequestMetrics) -> Option<f64>| {
                Stats::from_values(&ms.iter().filter_map(|m| f(m)).collect::<Vec<_>>())
            };
            TurnMetrics {
                turn,
                request_count: ms.len() as u64,
                time_to_first_token: col(&|m| m.ttft_ms),
                request_latency: col(&|m| Some(m.request_latency_ms)),
                input_sequence_length: col(&|m| Some(f64::from(m.isl))),
            }
        })
        .collect()
}
