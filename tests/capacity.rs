//! Capacity: the search finds the simulator's true capacity, goodput counts
//! exactly the requests meeting every target, and the regression gate
//! fails a worse candidate and passes a re-run of the same configuration.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

mod bin;
mod mcp_client;
use bin::BIN;
use mcp_client::{call, connect, ok, wait_done};

fn mcc(home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .env("MCC_BENCH_HOME", home)
        .args(args)
        .output()
        .expect("mcc-bench runs")
}

fn json_of(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("JSON")
}

/// With 4 generation slots, a fifth request in flight waits a whole
/// generation (~20 ms + 20 × 2 ms) before its first token: TTFT p99 ≤ 40 ms
/// holds up to concurrency 4 and breaks at 5.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_search_finds_the_simulators_capacity_within_its_budget() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let args = json!({
        "endpoint": {"url": "sim"},
        "slo": {"ttft_p99_ms": 40},
        "search": {"max_concurrency": 16, "budget_s": 120},
        "overrides": {"input_tokens": 16, "output_tokens": 20, "sim_slots": 4,
                      "sim_ttft_ms": 20, "sim_itl_ms": 2},
    });
    let started = ok(&call(&c, "find_capacity", args).await).clone();
    let id = started["run_id"].as_str().expect("id").to_owned();
    let status = wait_done(&c, &id).await;
    assert_eq!(status["status"], "completed", "{status}");
    let fetched = ok(&call(&c, "fetch_results", json!({"run_id": id})).await).clone();
    let cap = &fetched["capacity"];
    assert_eq!(cap["max_concurrency"], 4, "{cap}");
    assert_eq!(cap["confidence"], "exact", "{cap}");
    assert_eq!(
        fetched["levels"].as_array().map(Vec::len),
        cap["probes"].as_array().map(Vec::len),
        "every probe is a level"
    );
    let listed = ok(&call(
        &c,
        "query_results",
        json!({"sql": "SELECT count(*) AS n FROM benchmark_results"}),
    )
    .await)
    .clone();
    assert_eq!(
        listed["rows"][0]["n"].as_u64(),
        cap["probes"].as_array().map(|p| p.len() as u64),
        "every probe is a history row"
    );
    c.cancel().await.expect("close");

    let out = tempfile::tempdir().expect("out");
    let o = mcc(
        home.path(),
        &[
            "capacity",
            "-e",
            "sim",
            "--sim-slots",
            "4",
            "--sim-ttft-ms",
            "20",
            "--sim-itl-ms",
            "2",
            "--input-tokens",
            "16",
            "--output-tokens",
            "20",
            "--slo",
            "ttft_p99_ms=40",
            "--budget",
            "120",
            "--json",
            "--no-progress",
            "-o",
            out.path().join("cap").to_str().expect("utf-8"),
        ],
    );
    let r = json_of(&o);
    let cap = &r["capacity"];
    assert_eq!(cap["max_concurrency"], 4, "{cap}");
    assert_eq!(cap["confidence"], "exact", "{cap}");
    assert!(cap["search_seconds"].as_f64() < Some(120.0), "{cap}");
    let probes = cap["probes"].as_array().expect("probes");
    assert!(
        probes
            .iter()
            .any(|p| p["level"] == "c5" && p["passed"] == false),
        "the neighbour above failed: {cap}"
    );
    assert!(
        probes.iter().any(|p| p["stopped_early"] == true),
        "a lost probe stops early: {cap}"
    );
    assert!(cap["goodput_rps"].as_f64() > Some(0.0), "{cap}");
}

/// Goodput counts the successful requests within every threshold: with a
/// quarter of requests failing and a loose latency target every success is
/// good; with an impossible target none is.
#[test]
fn goodput_counts_exactly_the_good_requests() {
    let home = tempfile::tempdir().expect("home");
    let out = tempfile::tempdir().expect("out");
    let run = |slo: &str, dir: &str| {
        json_of(&mcc(
            home.path(),
            &[
                "run",
                "-e",
                "sim",
                "--sim-error-rate",
                "0.25",
                "-c",
                "4",
                "-n",
                "200",
                "--input-tokens",
                "16",
                "--output-tokens",
                "8",
                "--slo",
                slo,
                "--json",
                "--no-progress",
                "-o",
                out.path().join(dir).to_str().expect("utf-8"),
            ],
        ))
    };
    let loose = run("e2e_p99_ms=10000", "loose");
    let m = &loose["levels"][0]["metrics"];
    assert!(m["error_request_count"].as_u64() > Some(20), "{m}");
    assert_eq!(m["good_request_count"], m["request_count"], "{m}");
    let rate = m["goodput"].as_f64().expect("goodput");
    let expected =
        m["request_count"].as_f64().expect("n") / m["benchmark_duration_s"].as_f64().expect("s");
    assert!((rate - expected).abs() < 1e-6, "{rate} vs {expected}");
    let tight = run("ttft_p99_ms=0.001", "tight");
    let m = &tight["levels"][0]["metrics"];
    assert_eq!(m["good_request_count"], 0, "{m}");
    assert_eq!(m["goodput"], 0.0, "{m}");
    let export: Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("loose/profile_export_aiperf.json"))
            .expect("export"),
    )
    .expect("json");
    assert_eq!(export["goodput"]["unit"], "requests/sec", "{export}");
}

/// The gate: a candidate whose simulator is twice as slow to the first
/// token fails it (exit 1); a re-run of the baseline's configuration
/// passes (exit 0); with three runs a side it reports confidence intervals.
#[test]
fn the_regression_gate_fails_a_slower_candidate_and_passes_a_rerun() {
    let home = tempfile::tempdir().expect("home");
    let out = tempfile::tempdir().expect("out");
    let run = |ttft: &str, dir: String| -> String {
        let r = json_of(&mcc(
            home.path(),
            &[
                "run",
                "-e",
                "sim",
                "--sim-ttft-ms",
                ttft,
                "--sim-itl-ms",
                "2",
                "-c",
                "2",
                "-n",
                "60",
                "--input-tokens",
                "16",
                "--output-tokens",
                "8",
                "--json",
                "--no-progress",
                "-o",
                out.path().join(dir).to_str().expect("utf-8"),
            ],
        ));
        r["run_id"].as_str().expect("id").to_owned()
    };
    let base: Vec<String> = (0..3).map(|i| run("40", format!("b{i}"))).collect();
    let same: Vec<String> = (0..3).map(|i| run("40", format!("s{i}"))).collect();
    let slow: Vec<String> = (0..3).map(|i| run("80", format!("w{i}"))).collect();
    let gate = |cands: &[String], repeated: bool| {
        // A noise threshold that a shared CI machine's run-to-run jitter
        // stays under; the injected regression doubles TTFT.
        let mut args = vec![
            "compare".to_owned(),
            "--json".to_owned(),
            "--threshold=15".to_owned(),
        ];
        if repeated {
            args.push(format!("--baseline-runs={}", base.join(",")));
            args.push(format!("--candidate-runs={}", cands.join(",")));
        } else {
            args.push(base[0].clone());
            args.push(cands[0].clone());
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        mcc(home.path(), &argv)
    };
    let worse = gate(&slow, false);
    assert_eq!(
        worse.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&worse.stderr)
    );
    let rerun = gate(&same, false);
    assert_eq!(
        rerun.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&rerun.stdout)
    );
    let worse = gate(&slow, true);
    assert_eq!(worse.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&worse.stdout).expect("json");
    let ttft = doc["comparison"]["repeated"]
        .as_array()
        .expect("repeated")
        .iter()
        .find(|d| d["metric"] == "ttft_p50")
        .cloned()
        .expect("ttft_p50");
    assert_eq!(ttft["verdict"], "worse", "{ttft}");
    assert!(
        ttft["ci95_low"].as_f64() > Some(30.0),
        "the interval excludes 0: {ttft}"
    );
    assert_eq!(gate(&same, true).status.code(), Some(0));
}
