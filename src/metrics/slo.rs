//! Service-level targets against measurements: which requests are good
//! (goodput, AIPerf's definition: succeeded, with TTFT, ITL and latency
//! within the thresholds), and whether a level met every target.

use super::request::{request_metrics, RequestMetrics, TokenPolicy};
use crate::domain::{LevelResult, RequestRecord, Slo, SloFigures};

/// Figures within this share of a target count as "at the boundary": a
/// repeat can tell which side the load is on.
pub const NEAR_TARGET: f64 = 0.10;

/// True when a successful request's metrics meet every per-request
/// threshold. A TTFT target needs a TTFT (streaming); a response too short
/// for an inter-token latency has none to exceed.
pub fn is_good(m: &RequestMetrics, slo: &Slo) -> bool {
    within_targets(m.ttft_ms, m.itl_ms, m.request_latency_ms, slo)
}

/// True when a successful request's TTFT, ITL (if it has one) and latency,
/// all in ms, are within the thresholds of `slo`.
pub fn within_targets(
    ttft_ms: Option<f64>,
    itl_ms: Option<f64>,
    latency_ms: f64,
    slo: &Slo,
) -> bool {
    let within = |v: Option<f64>, limit: Option<f64>| match (v, limit) {
        (_, None) => true,
        (Some(v), Some(l)) => v <= l,
        (None, Some(_)) => false,
    };
    within(ttft_ms, slo.ttft_limit_ms())
        && (itl_ms.is_none() || within(itl_ms, slo.itl_p99_ms))
        && within(Some(latency_ms), slo.e2e_p99_ms)
}

/// Good requests of a level and their rate over `window_s` seconds.
pub fn goodput(
    records: &[RequestRecord],
    streaming: bool,
    policy: TokenPolicy,
    slo: &Slo,
    window_s: f64,
) -> (u64, f64) {
    let good = records
        .iter()
        .filter_map(|r| request_metrics(r, streaming, policy))
        .filter(|m| is_good(m, slo))
        .count() as u64;
    let rate = if window_s > 0.0 {
        good as f64 / window_s
    } else {
        0.0
    };
    (good, rate)
}

/// A level's figures against the targets.
pub fn figures(level: &LevelResult) -> SloFigures {
    let m = &level.metrics;
    let total = m.request_count + m.error_request_count;
    SloFigures {
        ttft_p99_ms: m.time_to_first_token.as_ref().map(|s| s.p99),
        ttft_p90_ms: m.time_to_first_token.as_ref().map(|s| s.p90),
        itl_p99_ms: m.inter_token_latency.as_ref().map(|s| s.p99),
        e2e_p99_ms: m.request_latency.as_ref().map(|s| s.p99),
        error_rate: if total > 0 {
            m.error_request_count as f64 / total as f64
        } else {
            0.0
        },
        request_throughput: m.request_throughput,
        goodput_rps: m.goodput,
    }
}

/// The targets a level missed (each with its figure), and whether any
/// figure that met its target came within `NEAR_TARGET` of it.
pub fn judge(f: &SloFigures, slo: &Slo) -> (Vec<String>, bool) {
    let mut failed = Vec::new();
    let mut near = false;
    let checks = [
        ("TTFT p99", f.ttft_p99_ms, slo.ttft_p99_ms, "ms"),
        ("TTFT p90", f.ttft_p90_ms, slo.ttft_p90_ms, "ms"),
        ("ITL p99", f.itl_p99_ms, slo.itl_p99_ms, "ms"),
        ("latency p99", f.e2e_p99_ms, slo.e2e_p99_ms, "ms"),
        ("error rate", Some(f.error_rate), slo.error_rate, ""),
    ];
    for (name, value, target, unit) in checks {
        let Some(target) = target else { continue };
        match value {
            None => failed.push(format!("{name}: not measured (target {target}{unit})")),
            Some(v) if v > target => {
                failed.push(format!("{name} {v:.3}{unit} > target {target}{unit}"));
            }
            Some(v) => near |= v >= target * (1.0 - NEAR_TARGET),
        }
    }
    (failed, near)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(ttft: Option<f64>, itl: Option<f64>, latency: f64) -> RequestMetrics {
        RequestMetrics {
            request_latency_ms: latency,
            ttft_ms: ttft,
            ttst_ms: None,
            itl_ms: itl,
            tokens_per_sec_per_user: None,
            icl_ms: Vec::new(),
            osl: Some(10),
            output_tokens: Some(10),
            reasoning_tokens: None,
            ttfo_ms: ttft,
            isl: 10,
            credit_to_start_ms: 0.0,
            latency_from_intended_ms: latency,
            ttft_from_intended_ms: ttft,
        }
    }

    #[test]
    fn a_request_is_good_only_within_every_threshold() {
        let slo = Slo {
            ttft_p99_ms: Some(100.0),
            itl_p99_ms: Some(10.0),
            e2e_p99_ms: Some(500.0),
            ..Slo::default()
        };
        assert!(is_good(&metrics(Some(90.0), Some(9.0), 400.0), &slo));
        assert!(!is_good(&metrics(Some(110.0), Some(9.0), 400.0), &slo));
        assert!(!is_good(&metrics(Some(90.0), Some(11.0), 400.0), &slo));
        assert!(!is_good(&metrics(Some(90.0), Some(9.0), 600.0), &slo));
        assert!(
            is_good(&metrics(Some(90.0), None, 400.0), &slo),
            "one token"
        );
        assert!(
            !is_good(&metrics(None, None, 400.0), &slo),
            "no TTFT to judge"
        );
    }

    #[test]
    fn levels_are_judged_with_a_margin_for_noise() {
        let slo = Slo {
            ttft_p99_ms: Some(100.0),
            error_rate: Some(0.01),
            ..Slo::default()
        };
        let f = SloFigures {
            ttft_p99_ms: Some(95.0),
            error_rate: 0.0,
            ..SloFigures::default()
        };
        assert_eq!(judge(&f, &slo), (vec![], true));
        let f = SloFigures {
            ttft_p99_ms: Some(120.0),
            error_rate: 0.02,
            ..SloFigures::default()
        };
        let (failed, _) = judge(&f, &slo);
        assert_eq!(failed.len(), 2, "{failed:?}");
    }
}
