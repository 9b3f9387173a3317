//! Page-level tests: escaping, degenerate inputs and data marks per plot.

use super::fixtures::*;
use super::*;
use crate::domain::*;

#[test]
fn run_page_counts_marks_per_plot() {
    let r = run(EVIL, &[1, 4, 16]);
    let reqs = requests(&["c1", "c4", "c16"], 100);
    let html = run_report(
        &r,
        &reqs,
        &ReportContext {
            label: Some(EVIL.to_owned()),
            ..Default::default()
        },
    );
    assert_page(&html);
    assert_eq!(
        marks(&html, "latency-throughput"),
        Some(6),
        "3 levels × (p50 + p99)"
    );
    assert_eq!(marks(&html, "ttft-throughput"), Some(6));
    assert_eq!(marks(&html, "timeline"), Some(300));
    assert_eq!(html.matches("class=\"pt fail\"").count(), 30);
    assert!(marks(&html, "ttft-histogram").unwrap_or(0) >= 3);
    assert!(marks(&html, "itl-histogram").unwrap_or(0) >= 3);
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn timeline_is_downsampled() {
    let r = run("big", &[1]);
    let reqs = requests(&["c1"], 12_000);
    let html = run_report(&r, &reqs, &ReportContext::default());
    assert_eq!(marks(&html, "timeline"), Some(5_000));
    assert!(html.contains("Showing 5,000 of 12,000 requests"));
}

#[test]
fn single_level_still_plots() {
    let html = run_report(
        &run("one", &[8]),
        &requests(&["c8"], 5),
        &ReportContext::default(),
    );
    assert_page(&html);
    assert_eq!(marks(&html, "latency-throughput"), Some(2));
}

#[test]
fn empty_and_degenerate_runs_do_not_panic() {
    let mut r = run("", &[]);
    r.status = RunStatus::Failed;
    let html = run_report(&r, &[], &ReportContext::default());
    assert_page(&html);
    assert!(html.contains("No failed requests"));
    let mut r = run("nan", &[1, 2]);
    r.levels[0].metrics = LevelMetrics {
        output_token_throughput: f64::NAN,
        ..Default::default()
    };
    r.levels[1].metrics.output_token_throughput = 1e300;
    r.levels[1].validity.client_bound = true;
    r.levels[1].validity.reasons = vec![EVIL.to_owned()];
    let reqs = vec![
        RequestPoint {
            level: "zzz".to_owned(),
            start_s: f64::NAN,
            latency_ms: 1.0,
            ttft_ms: Some(f64::INFINITY),
            itl_ms: None,
            error: None,
        },
        RequestPoint {
            level: EVIL.to_owned(),
            start_s: 1e12,
            latency_ms: -5.0,
            ttft_ms: Some(1e300),
            itl_ms: Some(0.0),
            error: Some(String::new()),
        },
    ];
    let html = run_report(&r, &reqs, &ReportContext::default());
    assert_page(&html);
    assert!(html.contains("client-bound"));
    assert_eq!(marks(&html, "timeline"), Some(1));
}

#[test]
fn all_failed_run_draws_only_crosses() {
    let mut r = run("allfail", &[1, 4]);
    r.status = RunStatus::Failed;
    for l in &mut r.levels {
        l.metrics = LevelMetrics {
            error_request_count: 10,
            ..Default::default()
        };
    }
    let reqs: Vec<RequestPoint> = requests(&["c1", "c4"], 10)
        .into_iter()
        .map(|p| RequestPoint {
            error: Some("timeout".to_owned()),
            ttft_ms: None,
            itl_ms: None,
            ..p
        })
        .collect();
    let html = run_report(&r, &reqs, &ReportContext::default());
    assert_page(&html);
    assert_eq!(marks(&html, "latency-throughput"), None);
    assert!(html.contains("No successful requests"));
    assert_eq!(marks(&html, "timeline"), Some(20));
    assert_eq!(html.matches("class=\"pt fail\"").count(), 20);
}

#[test]
fn non_streaming_run_skips_histograms() {
    let mut r = run("ns", &[1]);
    r.spec.streaming = false;
    r.levels[0].metrics.time_to_first_token = None;
    let reqs: Vec<RequestPoint> = requests(&["c1"], 10)
        .into_iter()
        .map(|p| RequestPoint {
            ttft_ms: None,
            itl_ms: None,
            ..p
        })
        .collect();
    let html = run_report(&r, &reqs, &ReportContext::default());
    assert_eq!(marks(&html, "ttft-histogram"), None);
    assert_eq!(marks(&html, "ttft-throughput"), None);
    assert!(html.contains("No TTFT values"));
}

#[test]
fn comparison_counts_marks_and_escapes() {
    let c = comparison("a", &["b", "missing"]);
    let runs = vec![run("a", &[1, 4, 16]), run("b", &[1, 4])];
    let html = comparison_report(&c, &runs);
    assert_page(&html);
    assert_eq!(marks(&html, "compare-latency-throughput"), Some(5));
    assert_eq!(marks(&html, "compare-throughput"), Some(5));
    assert!(html.contains("Not plotted (no results supplied): missing."));
    assert!(html.contains("▲ better"));
}

#[test]
fn empty_comparison_does_not_panic() {
    let html = comparison_report(&comparison(EVIL, &[]), &[]);
    assert_page(&html);
    assert!(html.contains("No candidates"));
    let html = comparison_report(&comparison("a", &["b"]), &[run("a", &[]), run("b", &[])]);
    assert_page(&html);
}

#[test]
fn odd_numbers_anywhere_do_not_panic_or_leak() {
    for (i, &v) in ODD.iter().enumerate() {
        let w = ODD[(i + 3) % ODD.len()];
        let mut r = run("odd", &[1, 2]);
        for l in &mut r.levels {
            l.metrics.request_latency = Some(odd_stats(v));
            l.metrics.time_to_first_token = Some(odd_stats(w));
            l.metrics.output_token_throughput = w;
            l.metrics.request_throughput = v;
            l.validity.achieved_concurrency = v;
            l.validity.client_cpu_utilization = w;
        }
        let reqs: Vec<RequestPoint> = ODD
            .iter()
            .map(|&x| RequestPoint {
                level: "c1".to_owned(),
                start_s: v,
                latency_ms: x,
                ttft_ms: Some(x),
                itl_ms: Some(w),
                error: (x > 1.0).then(|| "e".to_owned()),
            })
            .collect();
        let html = run_report(&r, &reqs, &ReportContext::default());
        assert_page(&html);
        let mut c = comparison("odd", &["odd"]);
        for m in &mut c.candidates[0].levels[0].metrics {
            (m.baseline, m.candidate, m.delta, m.percent) = (Some(v), Some(w), Some(v), Some(w));
        }
        assert_page(&comparison_report(&c, &[r]));
    }
}

#[test]
fn odd_page_has_no_non_finite_text() {
    let mut r = run("odd", &[1]);
    r.levels[0].metrics.output_token_throughput = f64::INFINITY;
    r.levels[0].validity.dispatch_lateness_p99_ms = f64::NEG_INFINITY;
    let reqs = vec![RequestPoint {
        level: "c1".to_owned(),
        start_s: f64::INFINITY,
        latency_ms: f64::NAN,
        ttft_ms: Some(f64::INFINITY),
        itl_ms: Some(f64::NAN),
        error: None,
    }];
    let html = run_report(&r, &reqs, &ReportContext::default());
    for bad in ["NaN", ">inf", " inf", "-inf", "\"inf"] {
        assert!(!html.contains(bad), "{bad}");
    }
}

/// A capacity search's page: one chart per target with every probe (passes
/// as dots, misses as crosses) and the target line, goodput against load,
/// the answer and a row per probe.
#[test]
fn capacity_search_page_plots_every_probe_against_each_target() {
    let mut r = run("cap", &[1, 2, 4, 8, 6, 5]);
    let slo = Slo {
        ttft_p99_ms: Some(40.0),
        error_rate: Some(0.01),
        ..Slo::default()
    };
    r.spec.capacity = Some(CapacitySearch {
        slo,
        mode: SearchMode::Concurrency,
        min: 1.0,
        max: 16.0,
        budget_s: 60.0,
    });
    let probe = |c: u32, passed: bool| Probe {
        level: format!("c{c}"),
        load: f64::from(c),
        passed,
        stopped_early: !passed,
        client_bound: false,
        repeat: false,
        figures: SloFigures {
            ttft_p99_ms: Some(if passed { 30.0 } else { 70.0 }),
            error_rate: 0.0,
            request_throughput: f64::from(c) * 10.0,
            goodput_rps: Some(if passed { f64::from(c) * 10.0 } else { 1.0 }),
            ..SloFigures::default()
        },
        failed: if passed {
            vec![]
        } else {
            vec!["TTFT p99 70 ms > 40 ms".to_owned()]
        },
    };
    let probes: Vec<Probe> = [
        (1, true),
        (2, true),
        (4, true),
        (8, false),
        (6, false),
        (5, false),
    ]
    .into_iter()
    .map(|(c, p)| probe(c, p))
    .collect();
    r.capacity = Some(Capacity {
        mode: SearchMode::Concurrency,
        max_concurrency: Some(4),
        max_rate: None,
        goodput_rps: Some(40.0),
        at_capacity: Some(probes[2].figures.clone()),
        at_first_failure: Some(probes[5].figures.clone()),
        confidence: "exact".to_owned(),
        probes,
        search_seconds: 12.5,
        requests_sent: 900,
        notes: vec!["<b>note</b>".to_owned()],
    });
    let html = run_report(&r, &[], &ReportContext::default());
    assert_page(&html);
    assert_eq!(marks(&html, "probe-ttft-p99"), Some(6), "every probe");
    assert_eq!(marks(&html, "probe-error-rate"), Some(6));
    assert_eq!(
        marks(&html, "probe-itl-p99"),
        None,
        "no ITL target, no chart"
    );
    assert_eq!(
        marks(&html, "probe-goodput"),
        Some(12),
        "throughput + goodput"
    );
    let ttft = html
        .split("data-plot=\"probe-ttft-p99\"")
        .nth(1)
        .and_then(|s| s.split("</svg>").next())
        .expect("ttft chart");
    assert_eq!(ttft.matches("class=\"pt fail\"").count(), 3, "three misses");
    assert_eq!(ttft.matches("class=\"rule\"").count(), 1, "the target line");
    assert!(html.contains("concurrency 4") && html.contains("exact"));
    assert!(html.contains("TTFT p99 (ms) ≤ 40"));
    assert!(html.contains("&lt;b&gt;note&lt;/b&gt;"));
    assert_eq!(html.matches("TTFT p99 70 ms &gt; 40 ms").count(), 3);
}

#[test]
fn a_multi_turn_run_shows_its_sessions_by_turn() {
    let mut r = run("chat", &[4]);
    r.spec.sessions = Some(SessionSpec {
        turns_mean: 5,
        turns_stddev: 2,
        think_time_ms_mean: 1000,
        think_time_ms_stddev: 500,
    });
    r.spec.prompts.tools = true;
    let turn = |t: u32, ttft: f64| TurnMetrics {
        turn: t,
        request_count: 10,
        time_to_first_token: Some(odd_stats(ttft)),
        request_latency: Some(odd_stats(ttft * 3.0)),
        input_sequence_length: Some(odd_stats(550.0 + 700.0 * f64::from(t))),
    };
    r.levels[0].metrics.sessions = Some(SessionMetrics {
        session_count: 12,
        completed_session_count: 9,
        turns_per_session: Some(odd_stats(5.0)),
        session_duration: Some(odd_stats(9000.0)),
        by_turn: vec![turn(0, 40.0), turn(1, 55.0), turn(2, 71.0)],
    });
    let html = run_report(&r, &requests(&["c4"], 10), &ReportContext::default());
    assert_page(&html);
    assert!(html.contains("<h2>Sessions</h2>"), "a sessions section");
    assert!(html.matches("<tr><td class=\"l\">").count() >= 3);
    assert!(
        html.contains("sessions of 5 ± 2 turns"),
        "the header says what was sent"
    );
    assert!(html.contains("the built-in tools"));
    let plain = run_report(
        &run("plain", &[4]),
        &requests(&["c4"], 10),
        &ReportContext::default(),
    );
    assert!(!plain.contains("<h2>Sessions</h2>"));
}
