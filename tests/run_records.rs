//! One run path: a run started from the shell is a run like any other.
//! It is recorded in the home's state file, MCP clients list, fetch, compare
//! and clean it, and if its process dies the next reconcile ends it
//! `interrupted` with its partial results. State files written by earlier
//! releases still load.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod bin;
mod mcp_client;
use bin::BIN;
use mcp_client::{call, connect, error_text, ok};

/// `mcc-bench run` against the simulator with `home`, to completion.
fn shell_run(home: &Path, out: &Path, extra: &[&str]) -> Value {
    let o = Command::new(BIN)
        .env("MCC_BENCH_HOME", home)
        .args(["run", "-e", "sim", "--json", "--no-progress", "-c", "2"])
        .args(["--input-tokens", "16", "--output-tokens", "4"])
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .expect("mcc-bench runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("JSON result")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_run_is_listed_fetched_compared_and_cleaned_over_mcp() {
    let home = tempfile::tempdir().expect("home");
    let out = tempfile::tempdir().expect("out");
    let a = shell_run(home.path(), &out.path().join("a"), &["-n", "8"]);
    let b = shell_run(home.path(), &out.path().join("b"), &["-n", "8"]);
    let (a, b) = (
        a["run_id"].as_str().expect("id"),
        b["run_id"].as_str().expect("id"),
    );
    let c = connect(home.path(), &[]).await;
    let listed = ok(&call(&c, "list_benchmarks", json!({"engine": "local"})).await).clone();
    let runs = listed["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2, "{listed}");
    assert!(runs
        .iter()
        .all(|r| r["status"] == "completed" && r["engine"] == "local"));
    let status = ok(&call(&c, "get_status", json!({"run_id": a})).await).clone();
    assert_eq!(status["status"], "completed", "{status}");
    let fetched = ok(&call(&c, "fetch_results", json!({"run_id": a})).await).clone();
    assert_eq!(fetched["levels"][0]["requests"], 8, "{fetched}");
    let compared = ok(&call(&c, "compare_results", json!({"run_ids": [a, b]})).await).clone();
    assert_eq!(compared["baseline"]["run_id"], a, "{compared}");
    let cleaned = ok(&call(&c, "clean", json!({"run_id": b})).await).clone();
    assert_eq!(cleaned["removed"], json!([b]), "{cleaned}");
    error_text(&call(&c, "get_status", json!({"run_id": b})).await);
    let rows = ok(&call(
        &c,
        "query_results",
        json!({"sql": "SELECT count(*) AS n FROM benchmark_results"}),
    )
    .await)
    .clone();
    assert_eq!(
        rows["rows"][0]["n"], 2,
        "both shell runs are in the history: {rows}"
    );
    c.cancel().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_shell_run_ends_interrupted_with_its_partial_results() {
    let home = tempfile::tempdir().expect("home");
    let out = tempfile::tempdir().expect("out");
    let mut child = Command::new(BIN)
        .env("MCC_BENCH_HOME", home.path())
        .args(["run", "-e", "sim", "--no-progress", "-r", "20"])
        .args(["--max-concurrency", "4", "--duration", "30"])
        .arg("-o")
        .arg(out.path().join("k"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mcc-bench runs");
    // Wait until the run is recorded and progress is flowing, then kill it.
    let state = home.path().join("state.json");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !out.path().join("k/progress.json").is_file() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let doc: Value = serde_json::from_slice(&std::fs::read(&state).expect("state")).expect("json");
    assert_eq!(doc["runs"][0]["status"], "running", "{doc}");
    assert_eq!(doc["runs"][0]["started_by"], "cli", "{doc}");
    let c = connect(home.path(), &[]).await;
    let listed = ok(&call(&c, "list_benchmarks", json!({})).await).clone();
    assert_eq!(listed["runs"][0]["status"], "interrupted", "{listed}");
    assert!(
        out.path().join("k/progress.json").is_file(),
        "partial files are kept"
    );
    c.cancel().await.expect("close");
}

/// A state file written by the previous release (engine as a string, no
/// `started_by`, no runner start time) loads and its runs are listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_file_of_the_previous_release_loads() {
    let home = tempfile::tempdir().expect("home");
    let fixture = include_str!("fixtures/state-previous-release.json");
    let doc: Value = serde_json::from_str(fixture).expect("fixture");
    let run_dir = doc["runs"][0]["run_dir"].as_str().expect("dir").to_owned();
    let text = fixture.replace(&run_dir, &home.path().join("runs/r1").display().to_string());
    std::fs::write(home.path().join("state.json"), text).expect("state");
    let jobs = mcc_bench::jobs::Jobs::new(home.path(), Path::new(BIN));
    let runs = jobs.list().expect("the old state file loads");
    assert!(!runs.is_empty());
    assert!(runs
        .iter()
        .all(|r| r.started_by == mcc_bench::domain::Starter::Runner));
    let c = connect(home.path(), &[]).await;
    let listed = ok(&call(&c, "list_benchmarks", json!({})).await).clone();
    assert_eq!(
        listed["runs"].as_array().map(Vec::len),
        Some(runs.len()),
        "{listed}"
    );
    c.cancel().await.expect("close");
}
