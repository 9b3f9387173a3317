//! The regression gate: is a candidate worse than its baseline beyond
//! noise? With one run per side, a gate figure worse by more than the noise
//! threshold is a regression. With three or more runs per side, each gate
//! figure's runs are compared with Welch's t-test: the delta of the means
//! gets a 95% confidence interval, and a regression needs the whole
//! interval on the worse side *and* a mean change beyond the threshold.

use crate::domain::{Better, LevelComparison, RepeatedDelta, RunResult, Verdict};

/// The figures the gate judges: the medians, throughput and errors (tail
/// percentiles of one run move too much between identical runs to gate on).
pub const GATE_FIGURES: [&str; 6] = [
    "request_throughput",
    "output_token_throughput",
    "ttft_p50",
    "itl_p50",
    "latency_p50",
    "error_rate",
];

/// Runs per side from which the statistical test is used.
pub const MIN_REPEATS: usize = 3;

/// True when a point comparison shows a gate figure worse beyond noise.
pub fn regressed(levels: &[LevelComparison]) -> bool {
    levels
        .iter()
        .flat_map(|l| &l.metrics)
        .any(|m| GATE_FIGURES.contains(&m.metric.as_str()) && m.verdict == Verdict::Worse)
}

/// Every gate figure of every level both sides ran, across repeated runs.
pub fn repeated(
    baselines: &[RunResult],
    candidates: &[RunResult],
    noise_percent: f64,
) -> Vec<RepeatedDelta> {
    let Some(first) = baselines.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for level in &first.levels {
        let label = level.level.label();
        for (metric, unit, better, get) in super::compare::figures() {
            if !GATE_FIGURES.contains(&metric) {
                continue;
            }
            let values = |runs: &[RunResult]| -> Vec<f64> {
                runs.iter()
                    .filter_map(|r| r.levels.iter().find(|l| l.level.label() == label))
                    .filter_map(|l| get(&l.metrics))
                    .filter(|v| v.is_finite())
                    .collect()
            };
            let (b, c) = (values(baselines), values(candidates));
            if let Some(d) = welch(&b, &c) {
                out.push(judge(&label, metric, unit, better, d, noise_percent));
            }
        }
    }
    out
}

/// Means, delta and its 95% interval of two samples.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Welch {
    mean_b: f64,
    mean_c: f64,
    low: f64,
    high: f64,
    n_b: usize,
    n_c: usize,
}

fn welch(b: &[f64], c: &[f64]) -> Option<Welch> {
    if b.len() < MIN_REPEATS || c.len() < MIN_REPEATS {
        return None;
    }
    let (mb, vb) = mean_var(b);
    let (mc, vc) = mean_var(c);
    let (sb, sc) = (vb / b.len() as f64, vc / c.len() as f64);
    let se = (sb + sc).sqrt();
    let df = if se > 0.0 {
        (sb + sc).powi(2) / (sb.powi(2) / (b.len() - 1) as f64 + sc.powi(2) / (c.len() - 1) as f64)
    } else {
        (b.len() + c.len() - 2) as f64
    };
    let half = t_975(df) * se;
    let d = mc - mb;
    Some(Welch {
        mean_b: mb,
        mean_c: mc,
        low: d - half,
        high: d + half,
        n_b: b.len(),
        n_c: c.len(),
    })
}

fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, var)
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom (table
/// for small df, the normal quantile with a first-order correction beyond).
fn t_975(df: f64) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    let k = df.floor().max(1.0) as usize;
    match TABLE.get(k - 1) {
        Some(t) => *t,
        None => 1.960 + 2.4 / df,
    }
}

fn judge(
    level: &str,
    metric: &str,
    unit: &str,
    better: Better,
    w: Welch,
    noise_percent: f64,
) -> RepeatedDelta {
    let delta = w.mean_c - w.mean_b;
    let percent = (w.mean_b != 0.0).then(|| delta / w.mean_b.abs() * 100.0);
    let beyond_noise = percent.is_some_and(|p| p.abs() >= noise_percent);
    let (worse_side, better_side) = match better {
        Better::Higher => (w.high < 0.0, w.low > 0.0),
        Better::Lower => (w.low > 0.0, w.high < 0.0),
    };
    let verdict = match (beyond_noise, worse_side, better_side) {
        (true, true, _) => Verdict::Worse,
        (true, _, true) => Verdict::Better,
        _ => Verdict::Same,
    };
    RepeatedDelta {
        level: level.to_owned(),
        metric: metric.to_owned(),
        unit: unit.to_owned(),
        baseline_mean: w.mean_b,
        candidate_mean: w.mean_c,
        delta,
        percent,
        ci95_low: w.low,
        ci95_high: w.high,
        baseline_runs: w.n_b,
        candidate_runs: w.n_c,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welch_interval_and_verdicts() {
        let b = [100.0, 101.0, 99.0, 100.0];
        let c = [120.0, 121.0, 119.0, 120.0];
        let w = welch(&b, &c).expect("enough runs");
        assert!((w.mean_c - w.mean_b - 20.0).abs() < 1e-9);
        assert!(w.low > 18.0 && w.high < 22.0, "{w:?}");
        let d = judge("c8", "ttft_p50", "ms", Better::Lower, w, 5.0);
        assert_eq!(d.verdict, Verdict::Worse);
        let same = welch(&b, &[100.5, 99.5, 100.0, 101.0]).expect("runs");
        let d = judge("c8", "ttft_p50", "ms", Better::Lower, same, 5.0);
        assert_eq!(d.verdict, Verdict::Same);
        assert!(
            welch(&b[..2], &c).is_none(),
            "fewer than three runs: no test"
        );
    }

    #[test]
    fn t_quantiles() {
        assert!((t_975(1.0) - 12.706).abs() < 1e-9);
        assert!((t_975(4.7) - 2.776).abs() < 1e-9);
        assert!((t_975(1000.0) - 1.9624).abs() < 1e-3);
    }
}
