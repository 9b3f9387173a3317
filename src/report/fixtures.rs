//! Test fixtures: runs, requests and comparisons with markup in every
//! string, and helpers to count data marks and check a page's shape.

use super::*;
use crate::domain::*;

pub(crate) const EVIL: &str = "<script>alert(1)</script>";

fn spec(run_id: &str, levels: &[u32]) -> RunSpec {
    RunSpec {
        run_id: run_id.to_owned(),
        workload: Some("chat".to_owned()),
        endpoint: EndpointSpec {
            url: "http://h:1/v1".to_owned(),
            api: ApiKind::Chat,
            model: None,
            api_key: None,
            extra_body: Default::default(),
            simulated: true,
            ..Default::default()
        },
        streaming: true,
        levels: levels
            .iter()
            .map(|&c| LoadLevel::Concurrency { concurrency: c })
            .collect(),
        stop: StopCondition::Requests { count: 100 },
        warmup_requests: 2,
        prompts: PromptSpec {
            input_tokens_mean: 512,
            input_tokens_stddev: 0,
            output_tokens_mean: 128,
            output_tokens_stddev: 0,
            shared_prefix_tokens: 0,
            tokenizer: None,
            tokenizer_download: false,
            distribution: Default::default(),
            tools: false,
            structured_output: false,
            mixture: Vec::new(),
        },
        token_count: TokenCountSource::Auto,
        request_timeout_s: 60.0,
        grace_period_s: 30.0,
        seed: 1,
        slo: None,
        capacity: None,
        sessions: None,
        dataset: None,
    }
}

fn validity(c: u32) -> Validity {
    Validity {
        target_concurrency: Some(c),
        achieved_concurrency: f64::from(c) * 0.98,
        target_rate: None,
        achieved_rate: 3.0,
        dispatch_lateness_p50_ms: 0.1,
        dispatch_lateness_p99_ms: 0.5,
        client_cpu_cores: 0.2,
        client_cpu_utilization: 0.1,
        available_cores: 2,
        runtime_lag_p50_ms: 0.05,
        runtime_lag_p99_ms: 0.3,
        client_bound: false,
        reasons: vec![],
        measured_by: None,
        ..Validity::default()
    }
}

fn level(c: u32, scale: f64) -> LevelResult {
    let lat: Vec<f64> = (0..50).map(|i| scale * (100.0 + f64::from(i))).collect();
    let ttft: Vec<f64> = lat.iter().map(|l| l / 10.0).collect();
    LevelResult {
        level: LoadLevel::Concurrency { concurrency: c },
        metrics: LevelMetrics {
            request_latency: Stats::from_values(&lat),
            time_to_first_token: Stats::from_values(&ttft),
            inter_token_latency: Stats::from_values(&[5.0, 6.0]),
            request_count: 50,
            error_request_count: 1,
            request_throughput: 2.0 * f64::from(c),
            output_token_throughput: 250.0 * f64::from(c),
            ..Default::default()
        },
        validity: validity(c),
        errors: vec![ErrorSummaryEntry {
            kind: "http_5xx".to_owned(),
            code: Some(503),
            message: EVIL.to_owned(),
            count: 1,
        }],
        token_counts: TokenCountCheck {
            source: "client".to_owned(),
            tokenizer: "builtin".to_owned(),
            usage_reported: 0,
            input_mismatches: 0,
            output_mismatches: 0,
            osl_short_of_requested: 0,
        },
        requests_sent: 51,
        was_cancelled: false,
        start_time: "2025-01-01T00:00:00Z".to_owned(),
        end_time: "2025-01-01T00:01:00Z".to_owned(),
        export_dir: "/tmp/x".to_owned(),
    }
}

/// A run with one level per concurrency.
pub(crate) fn run(run_id: &str, levels: &[u32]) -> RunResult {
    RunResult {
        run_id: run_id.to_owned(),
        status: RunStatus::Completed,
        model: EVIL.to_owned(),
        levels: levels
            .iter()
            .map(|&c| level(c, 1.0 + f64::from(c) / 8.0))
            .collect(),
        indicators: vec![Indicator {
            id: "ttft_high".to_owned(),
            level: Some(EVIL.to_owned()),
            message: EVIL.to_owned(),
        }],
        output_dir: "/tmp/x".to_owned(),
        start_time: "2025-01-01T00:00:00Z".to_owned(),
        end_time: "2025-01-01T00:03:00Z".to_owned(),
        spec: spec(run_id, levels),
        capacity: None,
    }
}

/// `n` requests per level label, every tenth failed.
pub(crate) fn requests(labels: &[&str], n: usize) -> Vec<RequestPoint> {
    let mut out = Vec::new();
    for (li, l) in labels.iter().enumerate() {
        for i in 0..n {
            let failed = i % 10 == 9;
            out.push(RequestPoint {
                level: (*l).to_owned(),
                start_s: li as f64 * 60.0 + i as f64 * 0.1,
                latency_ms: 200.0 + (i % 17) as f64 * 10.0,
                ttft_ms: (!failed).then_some(20.0 + (i % 7) as f64),
                itl_ms: (!failed).then_some(5.0 + (i % 3) as f64),
                error: failed.then(|| EVIL.to_owned()),
            });
        }
    }
    out
}

/// Counts `class="pt` marks inside the `<svg data-plot="plot">` element.
pub(crate) fn marks(html: &str, plot: &str) -> Option<usize> {
    let start = html.find(&format!("data-plot=\"{plot}\""))?;
    let end = start + html[start..].find("</svg>")?;
    Some(html[start..end].matches("class=\"pt").count())
}

pub(crate) fn assert_page(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"), "doctype");
    assert!(html.trim_end().ends_with("</html>"), "closing tag");
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    assert!(!html.contains(EVIL), "raw markup leaked");
    assert!(
        !html.contains("NaN") && !html.contains("inf\""),
        "non-finite number leaked"
    );
    assert!(!html.contains("<script"), "no script at all");
}

pub(crate) fn summary(id: &str) -> RunSummary {
    RunSummary {
        run_id: id.to_owned(),
        label: Some(EVIL.to_owned()),
        model: "m".to_owned(),
        adapter: None,
        instance_type: Some("ml.g5.xlarge".to_owned()),
        engine: "local".to_owned(),
        status: "completed".to_owned(),
        start_time: "2025".to_owned(),
        valid: id != "b",
        validity_notes: vec![],
    }
}

fn delta(metric: &str, verdict: Verdict) -> MetricDelta {
    MetricDelta {
        metric: metric.to_owned(),
        unit: "ms".to_owned(),
        better: Better::Lower,
        baseline: Some(100.0),
        candidate: Some(90.0),
        delta: Some(-10.0),
        percent: Some(-10.0),
        verdict,
    }
}

pub(crate) fn comparison(base: &str, cands: &[&str]) -> Comparison {
    Comparison {
        baseline: summary(base),
        baseline_source: "argument".to_owned(),
        noise_threshold_percent: 5.0,
        candidates: cands
            .iter()
            .map(|c| CandidateComparison {
                run: summary(c),
                levels: vec![LevelComparison {
                    level: "c1".to_owned(),
                    concurrency: Some(1),
                    metrics: vec![
                        delta("ttft_p99", Verdict::Better),
                        delta(EVIL, Verdict::Missing),
                    ],
                }],
                unmatched_levels: vec![EVIL.to_owned()],
            })
            .collect(),
        warnings: vec![EVIL.to_owned()],
        regressed: false,
        repeated: Vec::new(),
    }
}

pub(crate) const ODD: [f64; 11] = [
    f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    0.0,
    -0.0,
    1e-300,
    1e300,
    -1e300,
    f64::MAX,
    f64::MIN_POSITIVE,
    5.0,
];

pub(crate) fn odd_stats(v: f64) -> Stats {
    Stats {
        avg: v,
        min: v,
        max: v,
        std: v,
        p1: v,
        p5: v,
        p10: v,
        p25: v,
        p50: v,
        p75: v,
        p90: v,
        p95: v,
        p99: v,
        count: 1,
        sum: v,
    }
}
