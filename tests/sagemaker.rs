//! The SageMaker engine end to end through the MCP tools, with no real AWS:
//! moto's S3 server and the project's SageMaker emulator
//! (tests/emulator/sagemaker_emulator.py), both on 127.0.0.1 and started
//! here. The emulator really runs each benchmark job (mcc-bench against
//! its simulator) and uploads AIPerf output as a tar.gz, as the service
//! does. Needs the Python environment of scripts/python-env, passed in
//! MCC_BENCH_PY (scripts/test sets it).

mod bin;
mod emulator;
mod mcp_client;

use std::process::Command;
use std::time::{Duration, Instant};

use mcc_bench::domain::RunState;
use rmcp::model::CallToolResult;
use serde_json::{json, Value};

use bin::BIN;
use emulator::{control, emulator_state, world, World};
use mcp_client::{call, ok, Client};

/// `mcc-bench serve` in `w`'s AWS environment, temporary files allowed.
async fn connect(w: &World) -> Client {
    let tmp = std::env::temp_dir();
    let tmp = tmp.to_str().expect("the temporary directory is UTF-8");
    mcp_client::connect_in(
        &["--allow-dir", tmp],
        w.aws_env(),
        &["AWS_PROFILE", "AWS_ENDPOINT_URL"],
    )
    .await
}

fn content(r: &CallToolResult) -> Value {
    ok(r).clone()
}

async fn start(c: &Client, w: &World, overrides: Value) -> String {
    let r = call(c, "start_benchmark", json!({
        "workload": "sample", "project_dir": w.project.path(), "overrides": overrides, "force": true}))
    .await;
    content(&r)["run_id"].as_str().expect("run id").to_owned()
}

async fn wait_done(c: &Client, run_id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let s = content(
            &call(
                c,
                "get_status",
                json!({"run_id": run_id, "wait_seconds": 5}),
            )
            .await,
        );
        let state: RunState = serde_json::from_value(s["status"].clone()).expect("a run status");
        if !state.is_active() {
            return s;
        }
        assert!(Instant::now() < deadline, "run {run_id} still {s}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sagemaker_runs_through_the_mcp_tools() {
    let w = world();
    let c = connect(&w).await;

    // Completed, two levels, results downloaded from S3 and imported.
    let id = start(
        &c,
        &w,
        json!({"concurrency_levels": [1, 2], "request_count": 8}),
    )
    .await;
    let s = wait_done(&c, &id).await;
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(s["target"], "sagemaker://qwen-ep/qwen-ic-main");
    assert_eq!(s["engine"], "sagemaker");
    let levels: Vec<(u64, &str)> = s["cloud_jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| {
            (
                j["concurrency"].as_u64().unwrap_or(0),
                j["status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(levels, [(1, "Completed"), (2, "Completed")], "{s}");
    let r = content(&call(&c, "fetch_results", json!({"run_id": id})).await);
    let levels = r["levels"].as_array().expect("levels");
    assert_eq!(levels.len(), 2, "{r}");
    for l in levels {
        assert_eq!(l["requests"], 8, "{l}");
        assert!(l["ttft_ms"]["p50"].as_f64().expect("ttft") > 0.0);
        assert!(l["validity"]["measured_by"]
            .as_str()
            .expect("note")
            .contains("SageMaker"));
    }
    let state = emulator_state(&w.emulator);
    let jobs = state["jobs"].as_object().expect("jobs");
    assert_eq!(jobs.len(), 2);
    assert!(jobs
        .keys()
        .all(|k| k.starts_with("qwen-test-benchmark-") && k.len() <= 63));

    // The run is in the history: one row per level, each naming its job,
    // and its aggregate JSON is in the benchmark bucket.
    assert_eq!(r["history"]["rows"], 2, "{r}");
    assert!(r["history"]["s3_results_json"]
        .as_str()
        .is_some_and(|u| u.starts_with("s3://bench-results/qwen-test/")));
    let q = call(
        &c,
        "query_results",
        json!({"sql":
        "SELECT benchmark_job_name, run_type, metrics_source, project_name, model \
         FROM mlcc_ci.benchmark_results ORDER BY concurrency"}),
    )
    .await;
    let rows = content(&q)["rows"].as_array().expect("rows").clone();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert!(
            jobs.contains_key(row["benchmark_job_name"].as_str().expect("job")),
            "{row}"
        );
        assert_eq!(row["run_type"], "sagemaker");
        assert_eq!(row["metrics_source"], "aiperf");
        assert_eq!(row["project_name"], "qwen-test");
        assert_eq!(row["model"], "Qwen_Qwen3-0.6B");
    }

    hostile_output_is_imported_safely(&c, &w).await;

    // A failed job carries the service's reason to the agent.
    control(
        &w.emulator,
        json!({"fail_jobs": "CapacityError: no ml.g5 capacity"}),
    );
    let id = start(&c, &w, json!({"request_count": 4})).await;
    let s = wait_done(&c, &id).await;
    assert_eq!(s["status"], "failed", "{s}");
    assert!(
        s["failure"]
            .as_str()
            .expect("reason")
            .contains("no ml.g5 capacity"),
        "{s}"
    );
    assert_eq!(s["cloud_jobs"][0]["status"], "Failed", "{s}");
    assert!(
        s["cloud_jobs"][0]["failure_reason"]
            .as_str()
            .is_some_and(|r| r.contains("no ml.g5 capacity")),
        "{s}"
    );

    // A job that completes but whose output is lost is a precise failure.
    control(&w.emulator, json!({"fail_jobs": null, "lose_output": true}));
    let id = start(&c, &w, json!({"request_count": 4})).await;
    let s = wait_done(&c, &id).await;
    assert_eq!(s["status"], "failed", "{s}");
    assert!(
        s["failure"]
            .as_str()
            .expect("reason")
            .contains("nothing under s3://"),
        "{s}"
    );

    // Cancel stops the job (StopAIBenchmarkJob) and the run ends cancelled.
    control(
        &w.emulator,
        json!({"lose_output": false, "job_delay_seconds": 60, "stop_seconds": 0.5}),
    );
    let created = |w: &World| {
        emulator_state(&w.emulator)["calls"]
            .as_array()
            .expect("calls")
            .iter()
            .filter(|c| *c == "CreateAIBenchmarkJob")
            .count()
    };
    let before = created(&w);
    let id = start(&c, &w, json!({"request_count": 4})).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while created(&w) <= before {
        assert!(Instant::now() < deadline, "job never created");
        std::thread::sleep(Duration::from_millis(100));
    }
    content(&call(&c, "cancel_benchmark", json!({"run_id": id})).await);
    let s = wait_done(&c, &id).await;
    assert_eq!(s["status"], "cancelled", "{s}");
    let calls = emulator_state(&w.emulator)["calls"].clone();
    assert!(calls
        .as_array()
        .expect("calls")
        .iter()
        .any(|c| c == "StopAIBenchmarkJob"));

    // clean deletes every finished run's jobs and workload configs.
    let cleaned = content(&call(&c, "clean", json!({"finished": true})).await);
    assert!(
        !cleaned["cloud_deleted"]
            .as_array()
            .expect("deleted")
            .is_empty(),
        "{cleaned}"
    );
    assert_eq!(cleaned["warnings"], json!([]), "{cleaned}");
    let state = emulator_state(&w.emulator);
    assert_eq!(state["jobs"], json!({}), "{state}");
    assert_eq!(state["configs"], json!([]), "{state}");
    c.cancel().await.expect("close");
}

/// An output archive that also carries a link named like the export (to
/// /etc/passwd), a hard link, a FIFO and a `../` path: the run completes
/// from the real exports, the job lists each skipped entry, and nothing
/// lands outside the run directory or stays there as a link.
async fn hostile_output_is_imported_safely(c: &Client, w: &World) {
    control(&w.emulator, json!({"hostile_output": true}));
    let id = start(c, w, json!({"request_count": 4})).await;
    let s = wait_done(c, &id).await;
    control(&w.emulator, json!({"hostile_output": false}));
    assert_eq!(s["status"], "completed", "{s}");
    let warnings: Vec<&str> = s["cloud_jobs"][0]["output_warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for (entry, why) in [
        ("aaa/profile_export_aiperf.json", "symbolic link"),
        ("artifacts/hostname", "hard link"),
        ("artifacts/pipe", "FIFO"),
        ("escaped-by-archive.txt", "`..`"),
    ] {
        assert!(
            warnings
                .iter()
                .any(|w| w.contains(entry) && w.contains(why)),
            "{entry}: {warnings:?}"
        );
    }
    let r = content(&call(c, "fetch_results", json!({"run_id": id})).await);
    assert_eq!(r["levels"][0]["requests"], 4, "{r}");
    let run_dir = record(w, &id).expect("record")["run_dir"]
        .as_str()
        .expect("run dir")
        .to_owned();
    let mut stack = vec![w.home.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let (path, t) = (e.path(), e.file_type().expect("type"));
            assert_ne!(
                e.file_name(),
                "escaped-by-archive.txt",
                "{}",
                path.display()
            );
            if path.starts_with(&run_dir) {
                assert!(t.is_file() || t.is_dir(), "{} is {t:?}", path.display());
            }
            if t.is_dir() {
                stack.push(path);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn project_errors_name_the_key_and_file() {
    let w = world();
    std::fs::write(w.project.path().join("do/config"), "PROJECT_NAME=x\n").expect("config");
    let c = connect(&w).await;
    let r = call(
        &c,
        "start_benchmark",
        json!({"engine": "sagemaker", "project_dir": w.project.path()}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    let text = format!("{:?}", r.content);
    assert!(text.contains("ENDPOINT_NAME is not set in"), "{text}");
    let r = call(
        &c,
        "start_benchmark",
        json!({"engine": "sagemaker", "project_dir": "/nonexistent"}),
    )
    .await;
    assert!(
        format!("{:?}", r.content).contains("--allow-dir"),
        "a directory the operator did not allow is refused"
    );
    c.cancel().await.expect("close");
}

#[tokio::test(flavor = "multi_thread")]
async fn clean_finds_leftovers_by_prefix_and_names_missing_permissions() {
    let w = world();
    let c = connect(&w).await;
    let id = start(&c, &w, json!({"request_count": 2})).await;
    assert_eq!(wait_done(&c, &id).await["status"], "completed");
    // Resources this server never recorded: ml-container-creator's own
    // (`<project>-benchmark-<time>`), a running one, and another project's
    // whose name merely contains ours.
    emulator::seed(
        &w.emulator,
        json!({
            "jobs": {"qwen-test-benchmark-20260101-000000": "Completed",
                     "qwen-test-benchmark-20260102-000000": "InProgress",
                     "my-qwen-test-benchmark-20260101-000000": "Completed"},
            "configs": ["qwen-test-benchmark-config-20260101-000000",
                        "my-qwen-test-benchmark-config-20260101-000000"]}),
    );

    // A missing permission: the run is kept and the warning names the fix.
    control(
        &w.emulator,
        json!({"fail_ops": {"DeleteAIBenchmarkJob": "AccessDeniedException"}}),
    );
    let cleaned = content(&call(&c, "clean", json!({"run_id": id})).await);
    let warning = cleaned["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains(&format!("kept run {id}"))
            && warning.contains("DeleteAIBenchmarkJob")
            && warning.contains("grant sagemaker:DeleteAIBenchmarkJob"),
        "{cleaned}"
    );
    assert_eq!(cleaned["removed"], json!([]), "{cleaned}");

    control(&w.emulator, json!({"fail_ops": {}}));
    let cleaned = content(&call(&c, "clean", json!({"finished": true})).await);
    assert_eq!(cleaned["removed"], json!([id]), "{cleaned}");
    assert_eq!(cleaned["warnings"], json!([]), "{cleaned}");
    let state = emulator_state(&w.emulator);
    let mut jobs: Vec<&String> = state["jobs"].as_object().expect("jobs").keys().collect();
    jobs.sort();
    assert_eq!(
        jobs,
        [
            "my-qwen-test-benchmark-20260101-000000",
            "qwen-test-benchmark-20260102-000000"
        ],
        "finished leftovers of this project go; running ones and other projects' stay"
    );
    assert_eq!(
        state["configs"],
        json!(["my-qwen-test-benchmark-config-20260101-000000"]),
        "{state}"
    );
    c.cancel().await.expect("close");
}

/// The record of `run_id` in the state file.
fn record(w: &World, run_id: &str) -> Option<Value> {
    emulator::run_records(w.home.path())
        .into_iter()
        .find(|r| r["run_id"] == run_id)
}

/// The runner pid recorded for `run_id`.
fn runner_pid(w: &World, run_id: &str) -> Option<i32> {
    record(w, run_id)?["runner_pid"]
        .as_i64()
        .and_then(|p| i32::try_from(p).ok())
}

/// True once the run record shows its first job as created.
fn job_recorded(w: &World, run_id: &str) -> bool {
    record(w, run_id).is_some_and(|r| !r["engine_refs"]["jobs"][0]["status"].is_null())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_runner_is_replaced_and_resumes_without_creating_again() {
    let w = world();
    control(&w.emulator, json!({"job_delay_seconds": 4}));
    let c = connect(&w).await;
    let id = start(&c, &w, json!({"request_count": 4})).await;
    // Killed once the job is created *and recorded*: the new runner must
    // only poll. (Killed between the two, it would ask to create the same
    // names again and accept "already exists"; that path makes no second job.)
    let deadline = Instant::now() + Duration::from_secs(30);
    while !job_recorded(&w, &id) {
        assert!(Instant::now() < deadline, "job never recorded");
        std::thread::sleep(Duration::from_millis(50));
    }
    let first = runner_pid(&w, &id).expect("runner pid");
    let killed = Command::new("kill")
        .args(["-KILL", &first.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let s = wait_done(&c, &id).await;
    assert_eq!(s["status"], "completed", "{s}");
    assert_ne!(
        runner_pid(&w, &id),
        Some(first),
        "a new runner finished the run"
    );
    let calls = emulator_state(&w.emulator)["calls"].clone();
    let creates = calls
        .as_array()
        .expect("calls")
        .iter()
        .filter(|c| *c == "CreateAIBenchmarkJob")
        .count();
    assert_eq!(
        creates, 1,
        "the resumed runner must not create the job again: {calls}"
    );
    assert_eq!(
        emulator_state(&w.emulator)["jobs"]
            .as_object()
            .map(|j| j.len()),
        Some(1)
    );
    let r = content(&call(&c, "fetch_results", json!({"run_id": id})).await);
    assert_eq!(r["levels"][0]["requests"], 4, "{r}");

    // The shell view of the same run: state, its cloud job, the results table.
    let out = Command::new(BIN)
        .args(["status", &id, "--home"])
        .arg(w.home.path().join("state"))
        .output()
        .expect("status runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(&format!("run {id}  completed")), "{text}");
    assert!(
        text.contains("qwen-test-benchmark-") && text.contains("Completed"),
        "{text}"
    );
    let empty = tempfile::tempdir().expect("empty home");
    let out = Command::new(BIN)
        .args(["status", "--home"])
        .arg(empty.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no runs under"));
    c.cancel().await.expect("close");
}

/// A capacity search on the SageMaker engine: each probe is a benchmark
/// job at one concurrency (named by its probe number), judged like a local
/// probe. The emulated endpoint has 2 generation slots: a third request in
/// flight waits a whole generation (~20 ms + 20 × 2 ms) for its first
/// token, so TTFT p99 ≤ 40 ms holds at 2 and breaks at 3. Rate searches
/// are refused: benchmark jobs run at a fixed concurrency.
#[tokio::test(flavor = "multi_thread")]
async fn a_capacity_search_runs_as_successive_benchmark_jobs() {
    let w = world();
    control(
        &w.emulator,
        json!({"sim_ttft_ms": 20, "sim_itl_ms": 2, "sim_slots": 2}),
    );
    let c = connect(&w).await;
    let r = call(
        &c,
        "find_capacity",
        json!({"project_dir": w.project.path(), "slo": {"ttft_p99_ms": 40},
               "search": {"max_concurrency": 8, "budget_s": 300},
               "overrides": {"input_tokens": 16, "output_tokens": 20}}),
    )
    .await;
    let id = content(&r)["run_id"].as_str().expect("run id").to_owned();
    let s = wait_done(&c, &id).await;
    assert_eq!(s["status"], "completed", "{s}");
    assert_eq!(s["engine"], "sagemaker", "{s}");
    let r = content(&call(&c, "fetch_results", json!({"run_id": id})).await);
    let cap = &r["capacity"];
    assert_eq!(cap["max_concurrency"], 2, "{cap}");
    assert_eq!(cap["confidence"], "exact", "{cap}");
    let probes = cap["probes"].as_array().expect("probes");
    assert_eq!(
        r["levels"].as_array().map(Vec::len),
        Some(probes.len()),
        "every probe is a level: {r}"
    );
    assert!(
        probes
            .iter()
            .any(|p| p["level"] == "c3" && p["passed"] == false),
        "the neighbour above failed: {cap}"
    );
    assert!(
        cap["goodput_rps"].as_f64() > Some(0.0),
        "goodput from the job's export: {cap}"
    );
    let state = emulator_state(&w.emulator);
    let jobs = state["jobs"].as_object().expect("jobs");
    assert_eq!(jobs.len(), probes.len(), "one job per probe");
    for (i, p) in probes.iter().enumerate() {
        let level = p["level"].as_str().expect("level");
        let suffix = format!("-p{}-{level}", i + 1);
        assert!(
            jobs.keys().any(|k| k.ends_with(&suffix) && k.len() <= 63),
            "probe {} has its own job: {:?}",
            i + 1,
            jobs.keys().collect::<Vec<_>>()
        );
    }

    let r = call(
        &c,
        "find_capacity",
        json!({"project_dir": w.project.path(), "slo": {"ttft_p99_ms": 40},
               "search": {"mode": "rate"}}),
    )
    .await;
    assert_eq!(r.is_error, Some(true), "{r:?}");
    let text = format!("{:?}", r.content);
    assert!(text.contains("fixed concurrency"), "{text}");
    c.cancel().await.expect("close");
}
