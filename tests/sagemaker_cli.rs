//! The SageMaker engine from the shell: `mcc-bench run --engine sagemaker
//! --project DIR`, following the run to its results; Ctrl+C leaves the run
//! going and says how to check on it; `mcc-bench status --wait` picks it up;
//! `--engine local --project DIR` drives the same endpoint through the
//! runtime API. Against moto and the SageMaker emulator on 127.0.0.1.

mod bin;
mod emulator;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use emulator::{control, emulator_state, world};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn run_follows_a_sagemaker_run_to_its_results() {
    let w = world();
    let project = w.project.path().display().to_string();
    let out = w
        .command(&[
            "run",
            "--engine",
            "sagemaker",
            "--project",
            &project,
            "--ic",
            "main",
            "--concurrency",
            "1,2",
            "--request-count",
            "4",
            "--json",
        ])
        .output()
        .expect("runs");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("sagemaker://qwen-ep/qwen-ic-main"),
        "{stderr}"
    );
    assert!(stderr.contains("c1 Completed  c2 Completed"), "{stderr}");
    let r: serde_json::Value = serde_json::from_str(&stdout).expect("result JSON");
    let levels = r["levels"].as_array().expect("levels");
    assert_eq!(levels.len(), 2, "{r}");
    assert!(
        levels.iter().all(|l| l["metrics"]["request_count"] == 4),
        "{r}"
    );

    // An unknown inference component is an input error naming the file.
    let out = w
        .command(&[
            "run",
            "--engine",
            "sagemaker",
            "--project",
            &project,
            "--ic",
            "nope",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("do/ic/nope.conf"),
        "{}",
        text(&out.stderr)
    );
    // An endpoint that is not InService, and throttling that outlasts the
    // SDK's retries: the run fails with the operation and what to do.
    let failure = |w: &emulator::World| {
        let out = w
            .command(&["run", "--project", &project, "--request-count", "2"])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        text(&out.stderr)
    };
    control(&w.emulator, json!({"endpoint_status": "Updating"}));
    let err = failure(&w);
    assert!(err.contains("qwen-ep") && err.contains("Updating"), "{err}");
    control(
        &w.emulator,
        json!({"endpoint_status": "InService", "fail_ops": {"DescribeEndpoint": "ThrottlingException"}}),
    );
    let err = failure(&w);
    assert!(
        err.contains("DescribeEndpoint failed: ThrottlingException")
            && err.contains("throttled after retries"),
        "{err}"
    );
    let calls = emulator_state(&w.emulator)["calls"].to_string();
    assert!(
        calls.matches("DescribeEndpoint").count() >= 3,
        "the SDK retried before giving up: {calls}"
    );
}

#[test]
fn ctrl_c_leaves_the_run_going_and_says_how_to_check() {
    let w = world();
    control(&w.emulator, json!({"job_delay_seconds": 3}));
    let project = w.project.path().display().to_string();
    let mut child = w
        .command(&[
            "run",
            "--project",
            &project,
            "--request-count",
            "4",
            "--concurrency",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut first = String::new();
    err.read_line(&mut first).expect("first line");
    let run_id = first
        .strip_prefix("run ")
        .and_then(|s| s.split(':').next())
        .expect("run id")
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while emulator_state(&w.emulator)["jobs"]
        .as_object()
        .is_none_or(|j| j.is_empty())
    {
        assert!(Instant::now() < deadline, "job never created");
        std::thread::sleep(Duration::from_millis(100));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let status = child.wait().expect("exits");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).expect("stderr");
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(
        rest.contains(&format!("mcc-bench status {run_id}")),
        "{rest}"
    );

    // The run went on without its starter: status follows it to the end.
    let out = w
        .command(&["status", &run_id, "--wait", "120"])
        .output()
        .expect("status");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("run {run_id}  completed")),
        "{stdout}"
    );
    let calls = emulator_state(&w.emulator)["calls"].to_string();
    assert_eq!(calls.matches("StopAIBenchmarkJob").count(), 0, "{calls}");
}

#[test]
fn local_engine_with_a_project_uses_the_runtime_api() {
    let w = world();
    let project = w.project.path().display().to_string();
    let out_dir = tempfile::tempdir().expect("out");
    let out = w
        .command(&[
            "run",
            "--engine",
            "local",
            "--project",
            &project,
            "--request-count",
            "6",
            "--concurrency",
            "2",
            "--output-tokens",
            "8",
            "--no-progress",
            "--output-dir",
        ])
        .arg(out_dir.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let calls = emulator_state(&w.emulator)["calls"].to_string();
    assert_eq!(
        calls
            .matches("InvokeEndpointWithResponseStream:qwen-ep:qwen-ic-main")
            .count(),
        6,
        "{calls}"
    );
    assert!(!calls.contains("CreateAIBenchmarkJob"), "{calls}");
}

/// `mcc-bench capacity --engine sagemaker`: the search's probes are
/// benchmark jobs, followed from the shell like any SageMaker run, and the
/// answer is printed with the result.
#[test]
fn capacity_searches_a_sagemaker_endpoint_with_benchmark_jobs() {
    let w = world();
    control(
        &w.emulator,
        json!({"sim_ttft_ms": 20, "sim_itl_ms": 2, "sim_slots": 2}),
    );
    let project = w.project.path().display().to_string();
    let capacity = |extra: &[&str]| {
        let base = [
            "capacity",
            "--engine",
            "sagemaker",
            "--project",
            &project,
            "--slo",
            "ttft_p99_ms=40",
        ];
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        w.command(&args).output().expect("runs")
    };
    let out = capacity(&[
        "--max",
        "4",
        "--input-tokens",
        "16",
        "--output-tokens",
        "20",
        "--json",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let r: serde_json::Value = serde_json::from_str(&stdout).expect("result JSON");
    assert_eq!(r["capacity"]["max_concurrency"], 2, "{r}");
    assert_eq!(r["capacity"]["confidence"], "exact", "{r}");
    assert!(stderr.contains("c1 Completed"), "followed: {stderr}");

    let out = capacity(&["--mode", "rate"]);
    assert_eq!(out.status.code(), Some(1), "bad input");
    assert!(
        text(&out.stderr).contains("fixed concurrency"),
        "{}",
        text(&out.stderr)
    );
}
