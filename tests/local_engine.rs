//! The local engine end to end against the built-in simulator: measured
//! figures against the simulator's own logged truth, fault kinds, load modes,
//! cancellation and the export files.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{await_truth, median, run, run_with, spec};
use mcc_bench::domain::{ArrivalPattern, LoadLevel, RunStatus, StopCondition};
use mcc_bench::sim::{Fault, Faults, SimConfig, SimServer};
use tokio_util::sync::CancellationToken;

fn sim(ttft_ms: f64, itl_ms: f64, faults: Faults) -> SimServer {
    SimServer::start(SimConfig {
        ttft_ms,
        itl_ms,
        faults,
        ..SimConfig::default()
    })
    .expect("sim starts")
}

fn within(measured: f64, truth: f64, pct: f64) -> bool {
    (measured - truth).abs() <= truth.abs() * pct / 100.0
}

/// Client p50s (TTFT, latency, ITL) and the simulator's truth for the same
/// requests, from one run at TTFT 50 ms / ITL 10 ms / concurrency 8.
struct Accuracy {
    client: [f64; 3],
    truth: [f64; 3],
}

impl Accuracy {
    /// Worst relative offset of the three figures, in percent.
    fn worst_pct(&self) -> f64 {
        (0..3)
            .map(|i| (self.client[i] - self.truth[i]).abs() / self.truth[i] * 100.0)
            .fold(0.0, f64::max)
    }
}

fn measure_once() -> Accuracy {
    let sim = sim(50.0, 10.0, Faults::default());
    let mut s = spec(&sim.url(), 8, 48, 64, 20);
    s.warmup_requests = 8; // one per lane: connections are open before measuring
    let ran = run(&s, Some(&sim));
    let level = &ran.ok().levels[0];
    assert_eq!(level.metrics.request_count, 48);
    let truth: Vec<_> = await_truth(&sim, 56)
        .into_iter()
        .filter(|t| t.request_id.starts_with("profiling"))
        .collect();
    assert_eq!(truth.len(), 48);
    let ms = |a: std::time::Instant, b: std::time::Instant| (b - a).as_secs_f64() * 1e3;
    let last = |t: &mcc_bench::sim::TruthRecord| *t.chunks.last().expect("chunks");
    let t_ttft = median(truth.iter().map(|t| ms(t.received, t.chunks[0])).collect());
    let t_lat = median(truth.iter().map(|t| ms(t.received, last(t))).collect());
    let t_itl = median(
        truth
            .iter()
            .map(|t| ms(t.chunks[0], last(t)) / (t.chunks.len() - 1) as f64)
            .collect(),
    );
    // The simulator really paced at ~50 ms / ~10 ms (sanity of the truth itself).
    assert!((50.0..56.0).contains(&t_ttft), "{t_ttft}");
    assert!((9.5..11.5).contains(&t_itl), "{t_itl}");
    let m = &level.metrics;
    assert_eq!(m.output_sequence_length.as_ref().expect("osl").p50, 20.0);
    assert_eq!(m.input_sequence_length.as_ref().expect("isl").p50, 64.0);
    assert_eq!(
        level.token_counts.output_mismatches + level.token_counts.input_mismatches,
        0
    );
    assert!(!level.validity.client_bound, "{:?}", level.validity.reasons);
    assert!(
        level.validity.achieved_concurrency > 7.0,
        "{}",
        level.validity.achieved_concurrency
    );
    let client = [
        m.time_to_first_token.as_ref().expect("ttft").p50,
        m.request_latency.as_ref().expect("latency").p50,
        m.inter_token_latency.as_ref().expect("itl").p50,
    ];
    Accuracy {
        client,
        truth: [t_ttft, t_lat, t_itl],
    }
}

/// The claim is about the client's systematic offset. A shared 2-core VM
/// can stall the whole process for a second (another tenant, the host), and
/// the run's own certificate cannot see that, so the figure asserted is the
/// median of three independent runs, each of which must still be within 5%.
#[test]
fn measurements_match_the_simulators_truth_within_two_percent() {
    let mut runs: Vec<Accuracy> = (0..3).map(|_| measure_once()).collect();
    for r in &runs {
        let (c, t) = (r.client, r.truth);
        eprintln!(
            "TTFT {:.3}/{:.3}  latency {:.3}/{:.3}  ITL {:.4}/{:.4} (client/truth, ms)",
            c[0], t[0], c[1], t[1], c[2], t[2]
        );
        assert!(r.worst_pct() <= 5.0, "a run is {:.2}% off", r.worst_pct());
    }
    runs.sort_by(|a, b| a.worst_pct().total_cmp(&b.worst_pct()));
    let mid = &runs[1];
    let names = ["TTFT p50", "latency p50", "ITL p50"];
    for (i, name) in names.iter().enumerate() {
        let (c, t) = (mid.client[i], mid.truth[i]);
        assert!(
            within(c, t, 2.0),
            "{name} {c:.3} vs truth {t:.3} (median run)"
        );
    }
}

#[test]
fn aiperf_export_has_every_key_aiperf_writes_for_these_metrics() {
    let sim = sim(2.0, 1.0, Faults::default());
    let ran = run(&spec(&sim.url(), 4, 20, 32, 8), Some(&sim));
    let j = ran.json("profile_export_aiperf.json");
    let dist_keys = [
        "unit", "avg", "min", "max", "std", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95",
        "p99",
    ];
    let dists = [
        ("request_latency", "ms"),
        ("time_to_first_token", "ms"),
        ("time_to_second_token", "ms"),
        ("inter_token_latency", "ms"),
        ("inter_chunk_latency", "ms"),
        ("output_token_throughput_per_user", "tokens/sec/user"),
        ("output_sequence_length", "tokens"),
        ("input_sequence_length", "tokens"),
    ];
    for (tag, unit) in dists {
        let block = &j[tag];
        assert_eq!(block["unit"], unit, "{tag}");
        for k in dist_keys {
            assert!(block.get(k).is_some(), "{tag}.{k} missing");
        }
    }
    let scalars = [
        ("request_throughput", "requests/sec"),
        ("output_token_throughput", "tokens/sec"),
        ("request_count", "requests"),
        ("benchmark_duration", "sec"),
        ("total_isl", "tokens"),
        ("total_osl", "tokens"),
    ];
    for (tag, unit) in scalars {
        assert_eq!(j[tag]["unit"], unit, "{tag}");
        assert!(j[tag]["avg"].is_number(), "{tag}.avg");
    }
    for k in [
        "schema_version",
        "benchmark_id",
        "input_config",
        "was_cancelled",
        "start_time",
        "end_time",
        "error_summary",
    ] {
        assert!(j.get(k).is_some(), "{k} missing");
    }
    assert_eq!(j["request_count"]["avg"], 20.0);
    assert_eq!(j["total_osl"]["avg"], 160.0);
    let records = ran.jsonl("profile_export.jsonl");
    assert_eq!(records.len(), 20);
    let r = &records[0];
    for k in [
        "request_start_ns",
        "request_end_ns",
        "benchmark_phase",
        "x_request_id",
    ] {
        assert!(r["metadata"].get(k).is_some(), "metadata.{k}");
    }
    assert_eq!(
        r["metrics"]["inter_chunk_latency"]["value"]
            .as_array()
            .expect("list")
            .len(),
        7
    );
    assert!(r["error"].is_null());
    assert!(ran.path("run_spec.json").is_file() && ran.path("results.json").is_file());
}

#[test]
fn injected_faults_become_records_of_the_right_kind() {
    let faults = Faults {
        http_500: 0.1,
        http_429: 0.1,
        cut: 0.1,
        error_event: 0.1,
        malformed: 0.1,
        stall: 0.1,
        stall_ms: 2_000.0,
    };
    let sim = sim(2.0, 0.5, faults);
    let mut s = spec(&sim.url(), 8, 120, 16, 8);
    s.request_timeout_s = 0.5; // stalled requests time out
    let ran = run(&s, Some(&sim));
    let result = ran.ok();
    assert_eq!(
        result.status,
        RunStatus::Completed,
        "faults never crash the run"
    );
    let level = &result.levels[0];
    assert_eq!(level.requests_sent, 120);
    let truth: HashMap<String, Option<Fault>> = await_truth(&sim, 120)
        .into_iter()
        .map(|t| (t.request_id, t.fault))
        .collect();
    let expected = |f: Option<Fault>| match f {
        None => None,
        Some(Fault::Http500) => Some("http_5xx"),
        Some(Fault::Http429) => Some("rate_limited"),
        Some(Fault::Cut) => Some("stream_cut"),
        Some(Fault::ErrorEvent) => Some("error_event"),
        Some(Fault::Malformed) => Some("malformed_response"),
        Some(Fault::Stall) => Some("timeout"),
    };
    let mut want_counts: HashMap<&str, u64> = HashMap::new();
    for rec in ran.jsonl("profile_export.jsonl") {
        let id = rec["metadata"]["x_request_id"].as_str().expect("id");
        let fault = *truth.get(id).unwrap_or_else(|| panic!("sim saw {id}"));
        let got = rec["error"]["type"].as_str();
        assert_eq!(got, expected(fault), "request {id}: fault {fault:?}");
        if let Some(kind) = expected(fault) {
            *want_counts.entry(kind).or_default() += 1;
        }
    }
    assert!(
        want_counts.len() == 6,
        "every fault kind was drawn: {want_counts:?}"
    );
    for e in &level.errors {
        assert_eq!(
            Some(&e.count),
            want_counts.get(e.kind.as_str()),
            "{}",
            e.kind
        );
    }
    let failed: u64 = want_counts.values().sum();
    assert_eq!(level.metrics.error_request_count, failed);
    assert_eq!(level.metrics.request_count, 120 - failed);
    let codes: HashMap<&str, Option<u16>> = level
        .errors
        .iter()
        .map(|e| (e.kind.as_str(), e.code))
        .collect();
    assert_eq!(codes["http_5xx"], Some(500));
    assert_eq!(codes["rate_limited"], Some(429));
    let j = ran.json("profile_export_aiperf.json");
    assert_eq!(j["error_request_count"]["avg"], failed as f64);
    assert!(result.indicators.iter().any(|i| i.id == "errors"));
}

#[test]
fn unreachable_endpoint_fails_every_request_with_a_kind() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    drop(listener); // nothing listens there now
    let mut s = spec(&url, 2, 6, 8, 4);
    s.endpoint.model = Some("m".into());
    let ran = run(&s, None);
    let result = ran.ok();
    assert_eq!(result.status, RunStatus::Failed);
    assert_eq!(result.levels[0].errors[0].kind, "connection_refused");
    assert_eq!(result.levels[0].errors[0].count, 6);

    let mut s = spec(&url, 2, 6, 8, 4);
    s.endpoint.model = None;
    let err = run(&s, None).result.expect_err("discovery fails");
    assert!(err.to_string().contains("--model"), "{err}");
}

#[test]
fn non_streaming_and_completions_api() {
    let sim = sim(5.0, 1.0, Faults::default());
    let mut s = spec(&sim.url(), 3, 9, 20, 6);
    s.streaming = false;
    s.endpoint.api = mcc_bench::domain::ApiKind::Completions;
    let ran = run(&s, Some(&sim));
    let m = &ran.ok().levels[0].metrics;
    assert_eq!(m.request_count, 9);
    assert!(m.time_to_first_token.is_none() && m.inter_token_latency.is_none());
    let lat = m.request_latency.as_ref().expect("latency").p50;
    assert!(lat >= 10.0, "5 ms + 5 × 1 ms of generation: {lat}");
    assert_eq!(m.total_osl, 54);
}

#[test]
fn open_loop_rate_is_delivered_on_schedule() {
    let sim = sim(1.0, 0.5, Faults::default());
    let mut s = spec(&sim.url(), 1, 60, 8, 4);
    s.levels = vec![LoadLevel::Rate {
        rate: 100.0,
        pattern: ArrivalPattern::Constant,
        max_concurrency: None,
    }];
    let ran = run(&s, Some(&sim));
    let v = &ran.ok().levels[0].validity;
    assert!(
        (v.achieved_rate - 100.0).abs() < 3.0,
        "rate {}",
        v.achieved_rate
    );
    // Median lateness is tens of microseconds; p99 of 60 sends is their
    // maximum, which one scheduler hiccup of a shared VM can move.
    assert!(
        v.dispatch_lateness_p50_ms < 0.5 && v.dispatch_lateness_p99_ms < 5.0,
        "lateness p50 {} p99 {}",
        v.dispatch_lateness_p50_ms,
        v.dispatch_lateness_p99_ms
    );
    assert_eq!(v.target_rate, Some(100.0));
    // Intended starts sit exactly on the 10 ms grid: deadlines do not drift.
    let mut intended: Vec<i64> = ran
        .jsonl("profile_export.jsonl")
        .iter()
        .map(|r| r["metadata"]["credit_issued_ns"].as_i64().expect("ns"))
        .collect();
    intended.sort_unstable();
    for (k, t) in intended.iter().enumerate() {
        let drift = t - intended[0] - k as i64 * 10_000_000;
        assert!(drift.abs() <= 1, "arrival {k} is {drift} ns off the grid");
    }
}

#[test]
fn sweep_writes_one_result_per_level_and_warmup_is_excluded() {
    let sim = sim(1.0, 0.5, Faults::default());
    let mut s = spec(&sim.url(), 1, 6, 8, 4);
    s.levels = vec![
        LoadLevel::Concurrency { concurrency: 1 },
        LoadLevel::Concurrency { concurrency: 3 },
    ];
    s.warmup_requests = 4;
    let ran = run(&s, Some(&sim));
    let r = ran.ok();
    assert_eq!(r.levels.len(), 2);
    assert!(r.levels.iter().all(|l| l.metrics.request_count == 6));
    let first = ran.jsonl("c1/profile_export.jsonl");
    let warm = first
        .iter()
        .filter(|x| x["metadata"]["benchmark_phase"] == "warmup")
        .count();
    assert_eq!((warm, first.len()), (4, 10));
    assert_eq!(ran.jsonl("c3/profile_export.jsonl").len(), 6);
    assert_eq!(
        ran.json("c3/profile_export_aiperf.json")["input_config"]["loadgen"]["concurrency"],
        3
    );
    assert_eq!(
        ran.json("results.json")["levels"]
            .as_array()
            .expect("levels")
            .len(),
        2
    );
}

#[test]
fn cancelling_stops_dispatch_and_keeps_partial_results() {
    let sim = sim(5.0, 5.0, Faults::default());
    let mut s = spec(&sim.url(), 2, 1_000, 8, 20);
    s.grace_period_s = 2.0;
    let stop = CancellationToken::new();
    let trigger = stop.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        trigger.cancel();
    });
    let ran = run_with(&s, Some(&sim), stop);
    t.join().expect("thread");
    let r = ran.ok();
    assert_eq!(r.status, RunStatus::Cancelled);
    let l = &r.levels[0];
    assert!(l.was_cancelled);
    assert!(
        l.requests_sent < 1_000 && l.metrics.request_count > 0,
        "{}",
        l.requests_sent
    );
    let j = ran.json("profile_export_aiperf.json");
    assert_eq!(
        (j["was_cancelled"].as_bool(), j["is_complete"].as_bool()),
        (Some(true), Some(false))
    );
}

#[test]
fn duration_stop_ends_dispatch_on_time() {
    let sim = sim(1.0, 0.5, Faults::default());
    let mut s = spec(&sim.url(), 2, 1, 8, 4);
    s.stop = StopCondition::Duration { seconds: 0.5 };
    let started = std::time::Instant::now();
    let ran = run(&s, Some(&sim));
    assert!(started.elapsed() < Duration::from_secs(3));
    let l = &ran.ok().levels[0];
    assert!(l.metrics.request_count > 20, "{}", l.metrics.request_count);
    assert!(!l.was_cancelled);
}
