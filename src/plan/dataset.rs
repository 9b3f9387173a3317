//! A dataset file in a run: read and validated when the run is planned (so
//! a malformed line is reported before anything starts), and a trace's own
//! timeline turned into the run's one load level.

use std::path::Path;

use super::Overrides;
use crate::dataset::Dataset;
use crate::domain::{ArrivalPattern, DatasetSpec, LoadLevel};

/// Largest trace speedup (and 1/smallest).
const MAX_SPEEDUP: f64 = 1_000.0;

/// A run's dataset, and the level that replays it when it is a trace.
pub(super) struct Planned {
    pub(super) spec: DatasetSpec,
    /// The trace's replay level, when the run replays its timeline.
    pub(super) replay: Option<LoadLevel>,
}

/// The dataset the overrides name, validated; `None` without one.
pub(super) fn plan(o: &Overrides) -> Result<Option<Planned>, String> {
    let Some(path) = &o.dataset else {
        if o.trace_speedup.is_some() || o.dataset_format.is_some() {
            return Err("trace_speedup and dataset_format need a dataset file".into());
        }
        return Ok(None);
    };
    if o.turns.is_some_and(|t| t > 1) {
        return Err("a dataset's entries are single requests; multi-turn sessions use synthetic turns (drop --turns or --dataset)".into());
    }
    let data = Dataset::load(Path::new(path), o.dataset_format).map_err(|e| e.to_string())?;
    let load_given = !o.concurrency.is_empty() || !o.request_rate.is_empty() || o.sweep;
    let timeline = data.timeline_ms();
    let replay = match (timeline, o.trace_speedup) {
        (None, Some(_)) => {
            return Err(format!(
                "trace_speedup replays a trace's timestamps, and {path} has none"
            ))
        }
        (Some(_), Some(_)) if load_given => {
            return Err("replay the trace on its timeline (trace_speedup) or send it at a concurrency or rate, not both".into())
        }
        (Some(t), speedup) if !load_given => Some(replay_level(&t, speedup.unwrap_or(1.0), o)?),
        _ => None,
    };
    Ok(Some(Planned {
        spec: DatasetSpec {
            path: path.clone(),
            format: data.format,
            entries: data.entries.len() as u64,
            trace_speedup: replay.map(|_| o.trace_speedup.unwrap_or(1.0)),
        },
        replay,
    }))
}

/// The open-loop level of a replay: the trace's timestamps over
/// `speedup`, its mean rate as the level's rate.
fn replay_level(offsets_ms: &[f64], speedup: f64, o: &Overrides) -> Result<LoadLevel, String> {
    if !(speedup.is_finite() && (1.0 / MAX_SPEEDUP..=MAX_SPEEDUP).contains(&speedup)) {
        return Err(format!(
            "trace_speedup {speedup} must be between {} and {MAX_SPEEDUP}",
            1.0 / MAX_SPEEDUP
        ));
    }
    let span_s = offsets_ms.last().copied().unwrap_or(0.0) / 1e3 / speedup;
    let n = offsets_ms.len() as f64;
    let rate = if span_s > 0.0 {
        (n - 1.0).max(1.0) / span_s
    } else {
        n
    };
    Ok(LoadLevel::Rate {
        rate: (rate * 1e3).round().max(1.0) / 1e3,
        pattern: ArrivalPattern::Trace,
        max_concurrency: o.max_concurrency,
    })
}
