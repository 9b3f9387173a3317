//! The seed's key indicators, checked on every result:
//! TTFT > 500 ms, ITL > 50 ms, and a throughput plateau across sweep levels;
//! plus the two that make a result untrustworthy: errors and a client-bound
//! measurement.

use crate::domain::{Indicator, LevelResult};

/// TTFT median above this suggests a smaller batch or a faster instance.
pub(crate) const TTFT_HIGH_MS: f64 = 500.0;
/// ITL median above this means slow generation.
pub(crate) const ITL_HIGH_MS: f64 = 50.0;
/// A sweep step that raises load by at least this factor…
const PLATEAU_LOAD_STEP: f64 = 1.5;
/// …but raises throughput by less than this fraction has plateaued.
const PLATEAU_GAIN: f64 = 0.10;

/// Indicators for a run's levels, in level order.
pub fn key_indicators(levels: &[LevelResult]) -> Vec<Indicator> {
    let mut out = Vec::new();
    for l in levels {
        let label = l.level.label();
        let ind = |id: &str, message: String| Indicator {
            id: id.to_owned(),
            level: Some(label.clone()),
            message,
        };
        if let Some(t) = l
            .metrics
            .time_to_first_token
            .as_ref()
            .filter(|t| t.p50 > TTFT_HIGH_MS)
        {
            out.push(ind("ttft_high", format!(
                "TTFT p50 {:.0} ms > {TTFT_HIGH_MS:.0} ms: the model may need a smaller batch size or a faster instance",
                t.p50
            )));
        }
        if let Some(t) = l
            .metrics
            .inter_token_latency
            .as_ref()
            .filter(|t| t.p50 > ITL_HIGH_MS)
        {
            out.push(ind("itl_high", format!(
                "ITL p50 {:.1} ms > {ITL_HIGH_MS:.0} ms: generation is slow; consider tensor parallelism or a faster backend",
                t.p50
            )));
        }
        let total = l.metrics.request_count + l.metrics.error_request_count;
        if l.metrics.error_request_count > 0 {
            out.push(ind(
                "errors",
                format!(
                    "{} of {total} requests failed ({:.1}%); see the error summary",
                    l.metrics.error_request_count,
                    100.0 * l.metrics.error_request_count as f64 / total.max(1) as f64
                ),
            ));
        }
        if l.validity.client_bound {
            out.push(ind(
                "client_bound",
                format!(
                    "the client, not the endpoint, limited this measurement: {}",
                    l.validity.reasons.join("; ")
                ),
            ));
        }
    }
    out.extend(plateau(levels));
    out
}

/// The first sweep step where load rose but throughput did not.
fn plateau(levels: &[LevelResult]) -> Option<Indicator> {
    let points: Vec<(f64, f64, String)> = levels
        .iter()
        .filter_map(|l| {
            let load = l.level.concurrency().map(f64::from)?;
            Some((load, l.metrics.output_token_throughput, l.level.label()))
        })
        .collect();
    points.windows(2).find_map(|w| {
        let (load_a, tput_a, label_a) = &w[0];
        let (load_b, tput_b, label_b) = &w[1];
        let flat = *load_b >= PLATEAU_LOAD_STEP * load_a && *tput_b < (1.0 + PLATEAU_GAIN) * tput_a && *tput_a > 0.0;
        flat.then(|| Indicator {
            id: "throughput_plateau".to_owned(),
            level: Some(label_a.clone()),
            message: format!(
                "output throughput went from {tput_a:.0} tok/s at {label_a} to {tput_b:.0} tok/s at {label_b}: \
                 GPU saturation; scale horizontally or upgrade the instance"
            ),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LevelMetrics, LoadLevel, Stats, TokenCountCheck, Validity};

    fn level(concurrency: u32, tput: f64, ttft_p50: f64, itl_p50: f64) -> LevelResult {
        let stats = |p50: f64| Stats::from_values(&[p50]);
        LevelResult {
            level: LoadLevel::Concurrency { concurrency },
            metrics: LevelMetrics {
                time_to_first_token: stats(ttft_p50),
                inter_token_latency: stats(itl_p50),
                output_token_throughput: tput,
                request_count: 10,
                ..LevelMetrics::default()
            },
            validity: Validity {
                target_concurrency: Some(concurrency),
                achieved_concurrency: f64::from(concurrency),
                target_rate: None,
                achieved_rate: 1.0,
                dispatch_lateness_p50_ms: 0.0,
                dispatch_lateness_p99_ms: 0.0,
                client_cpu_cores: 0.1,
                client_cpu_utilization: 0.05,
                available_cores: 2,
                runtime_lag_p50_ms: 0.0,
                runtime_lag_p99_ms: 0.0,
                client_bound: false,
                reasons: vec![],
                measured_by: None,
                ..Validity::default()
            },
            errors: vec![],
            token_counts: TokenCountCheck {
                source: "client".into(),
                tokenizer: "builtin".into(),
                usage_reported: 0,
                input_mismatches: 0,
                output_mismatches: 0,
                osl_short_of_requested: 0,
            },
            requests_sent: 10,
            was_cancelled: false,
            start_time: String::new(),
            end_time: String::new(),
            export_dir: String::new(),
        }
    }

    fn ids(v: &[Indicator]) -> Vec<&str> {
        v.iter().map(|i| i.id.as_str()).collect()
    }

    #[test]
    fn slow_ttft_and_itl_are_flagged() {
        assert!(key_indicators(&[level(4, 100.0, 120.0, 20.0)]).is_empty());
        let got = key_indicators(&[level(4, 100.0, 650.0, 75.0)]);
        assert_eq!(ids(&got), ["ttft_high", "itl_high"]);
        assert_eq!(got[0].level.as_deref(), Some("c4"));
    }

    #[test]
    fn throughput_plateau_across_a_sweep() {
        let rising = [
            level(1, 100.0, 50.0, 10.0),
            level(4, 380.0, 60.0, 11.0),
            level(8, 700.0, 70.0, 12.0),
        ];
        assert!(key_indicators(&rising).is_empty());
        let flat = [
            level(1, 100.0, 50.0, 10.0),
            level(4, 380.0, 60.0, 11.0),
            level(8, 400.0, 90.0, 20.0),
        ];
        let got = key_indicators(&flat);
        assert_eq!(ids(&got), ["throughput_plateau"]);
        assert_eq!(got[0].level.as_deref(), Some("c4"));
    }

    #[test]
    fn errors_and_client_bound_levels_are_flagged() {
        let mut l = level(2, 10.0, 10.0, 1.0);
        l.metrics.error_request_count = 5;
        l.validity.client_bound = true;
        l.validity.reasons = vec!["client used 95% of 2 cores".into()];
        let got = key_indicators(&[l]);
        assert_eq!(ids(&got), ["errors", "client_bound"]);
        assert!(got[0].message.contains("5 of 15"), "{}", got[0].message);
        assert!(got[1].message.contains("95%"));
    }
}
