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
