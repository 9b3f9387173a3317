//! Comparison math: a candidate run against a baseline, level by level
//! (matched by label: `c8` with `c8`), each figure's delta, percentage and
//! verdict. Pure functions of two results.

use crate::domain::{
    Better, LevelComparison, LevelMetrics, LevelResult, MetricDelta, RunResult, RunSummary, Stats,
    Verdict,
};

/// Changes smaller than this (percent of the baseline) count as the same.
pub const DEFAULT_NOISE_PERCENT: f64 = 5.0;

pub(crate) type Getter = fn(&LevelMetrics) -> Option<f64>;

fn stat(s: &Option<Stats>, f: fn(&Stats) -> f64) -> Option<f64> {
    s.as_ref().map(f)
}

/// Every figure compared: id, unit, direction, how to read it.
const FIGURES: [(&str, &str, Better, Getter); 15] = [
    ("request_throughput", "req/s", Better::Higher, |m| {
        Some(m.request_throughput)
    }),
    ("output_token_throughput", "tokens/s", Better::Higher, |m| {
        Some(m.output_token_throughput)
    }),
    ("ttft_avg", "ms", Better::Lower, |m| {
        stat(&m.time_to_first_token, |s| s.avg)
    }),
    ("ttft_p50", "ms", Better::Lower, |m| {
        stat(&m.time_to_first_token, |s| s.p50)
    }),
    ("ttft_p90", "ms", Better::Lower, |m| {
        stat(&m.time_to_first_token, |s| s.p90)
    }),
    ("ttft_p99", "ms", Better::Lower, |m| {
        stat(&m.time_to_first_token, |s| s.p99)
    }),
    ("itl_avg", "ms", Better::Lower, |m| {
        stat(&m.inter_token_latency, |s| s.avg)
    }),
    ("itl_p50", "ms", Better::Lower, |m| {
        stat(&m.inter_token_latency, |s| s.p50)
    }),
    ("itl_p90", "ms", Better::Lower, |m| {
        stat(&m.inter_token_latency, |s| s.p90)
    }),
    ("itl_p99", "ms", Better::Lower, |m| {
        stat(&m.inter_token_latency, |s| s.p99)
    }),
    ("latency_avg", "ms", Better::Lower, |m| {
        stat(&m.request_latency, |s| s.avg)
    }),
    ("latency_p50", "ms", Better::Lower, |m| {
        stat(&m.request_latency, |s| s.p50)
    }),
    ("latency_p90", "ms", Better::Lower, |m| {
        stat(&m.request_latency, |s| s.p90)
    }),
    ("latency_p99", "ms", Better::Lower, |m| {
        stat(&m.request_latency, |s| s.p99)
    }),
    ("error_rate", "%", Better::Lower, error_rate_percent),
];

/// The figures compared: id, unit, direction, how to read it.
pub(crate) fn figures() -> impl Iterator<Item = (&'static str, &'static str, Better, Getter)> {
    FIGURES.into_iter()
}

fn error_rate_percent(m: &LevelMetrics) -> Option<f64> {
    let total = m.request_count + m.error_request_count;
    (total > 0).then(|| m.error_request_count as f64 * 100.0 / total as f64)
}

/// One figure: delta, percent and verdict.
pub fn metric_delta(
    (metric, unit, better): (&str, &str, Better),
    baseline: Option<f64>,
    candidate: Option<f64>,
    noise_percent: f64,
) -> MetricDelta {
    let baseline = baseline.filter(|v| v.is_finite());
    let candidate = candidate.filter(|v| v.is_finite());
    let delta = baseline.zip(candidate).map(|(b, c)| c - b);
    let percent = baseline
        .zip(delta)
        .filter(|(b, _)| *b != 0.0)
        .map(|(b, d)| d / b.abs() * 100.0);
    let verdict = match (delta, percent) {
        (None, _) => Verdict::Missing,
        (Some(0.0), _) => Verdict::Same,
        (Some(_), Some(p)) if p.abs() < noise_percent => Verdict::Same,
        (Some(d), _) => match (better, d > 0.0) {
            (Better::Higher, true) | (Better::Lower, false) => Verdict::Better,
            _ => Verdict::Worse,
        },
    };
    MetricDelta {
        metric: metric.to_owned(),
        unit: unit.to_owned(),
        better,
        baseline,
        candidate,
        delta,
        percent,
        verdict,
    }
}

/// Levels of `candidate` matched to `baseline`'s by label, in the
/// baseline's order; also the labels found in only one of them.
pub fn compare_levels(
    baseline: &RunResult,
    candidate: &RunResult,
    noise_percent: f64,
) -> (Vec<LevelComparison>, Vec<String>) {
    let mut matched = Vec::new();
    let mut unmatched = Vec::new();
    for b in &baseline.levels {
        let label = b.level.label();
        match candidate.levels.iter().find(|c| c.level.label() == label) {
            Some(c) => matched.push(compare_level(b, c, noise_percent)),
            None => unmatched.push(format!("{label} (baseline only)")),
        }
    }
    for c in &candidate.levels {
        let label = c.level.label();
        if !baseline.levels.iter().any(|b| b.level.label() == label) {
            unmatched.push(format!("{label} (candidate only)"));
        }
    }
    (matched, unmatched)
}

fn compare_level(b: &LevelResult, c: &LevelResult, noise_percent: f64) -> LevelComparison {
    let metrics = FIGURES
        .iter()
        .map(|(id, unit, better, get)| {
            metric_delta(
                (id, unit, *better),
                get(&b.metrics),
                get(&c.metrics),
                noise_percent,
            )
        })
        .collect();
    LevelComparison {
        level: b.level.label(),
        concurrency: b.level.concurrency(),
        metrics,
    }
}

/// A run's summary for a comparison; validity from every level's certificate.
pub fn run_summary(
    result: &RunResult,
    label: Option<String>,
    engine: crate::domain::Engine,
    adapter: Option<String>,
    instance_type: Option<String>,
) -> RunSummary {
    let validity_notes: Vec<String> = result
        .levels
        .iter()
        .filter(|l| l.validity.client_bound)
        .map(|l| format!("{}: {}", l.level.label(), l.validity.reasons.join("; ")))
        .collect();
    let status = serde_json::to_value(result.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    RunSummary {
        run_id: result.run_id.clone(),
        label,
        model: result.model.clone(),
        adapter,
        instance_type,
        engine: engine.to_string(),
        status,
        start_time: result.start_time.clone(),
        valid: validity_notes.is_empty() && !result.levels.is_empty(),
        validity_notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TPUT: (&str, &str, Better) = ("output_token_throughput", "tokens/s", Better::Higher);
    const TTFT: (&str, &str, Better) = ("ttft_p99", "ms", Better::Lower);

    #[test]
    fn deltas_and_percentages_on_known_inputs() {
        let d = metric_delta(TPUT, Some(200.0), Some(250.0), 5.0);
        assert_eq!(d.delta, Some(50.0));
        assert_eq!(d.percent, Some(25.0));
        assert_eq!(d.verdict, Verdict::Better);
        let d = metric_delta(TTFT, Some(80.0), Some(100.0), 5.0);
        assert_eq!(d.delta, Some(20.0));
        assert_eq!(d.percent, Some(25.0));
        assert_eq!(d.verdict, Verdict::Worse);
        let d = metric_delta(TTFT, Some(100.0), Some(90.0), 5.0);
        assert_eq!(d.percent, Some(-10.0));
        assert_eq!(d.verdict, Verdict::Better);
    }

    #[test]
    fn small_changes_are_the_same_and_missing_sides_are_missing() {
        let d = metric_delta(TPUT, Some(100.0), Some(104.0), 5.0);
        assert_eq!(d.verdict, Verdict::Same);
        assert_eq!(
            metric_delta(TTFT, None, Some(1.0), 5.0).verdict,
            Verdict::Missing
        );
        assert_eq!(
            metric_delta(TTFT, Some(f64::NAN), Some(1.0), 5.0).verdict,
            Verdict::Missing
        );
        let zero = metric_delta(TPUT, Some(0.0), Some(3.0), 5.0);
        assert_eq!((zero.percent, zero.verdict), (None, Verdict::Better));
        let same_zero = metric_delta(TPUT, Some(0.0), Some(0.0), 5.0);
        assert_eq!(same_zero.verdict, Verdict::Same);
    }
}
