//! The SageMaker engine end to end through the MCP tools, with no real AWS:
//! moto's S3 server and the project's SageMaker emulator
//! (tests/emulator/sagemaker_emulator.py), both on 127.0.0.1 and started
//! here. The emulator really runs each benchmark job (mcc-bench against
//! its simulator) and uploads AIPerf output as a tar.gz, as the service
//! does. Needs the Python environment of scripts/python-env, passed in
//! MCC_BENCH_PY (scripts/test sets it).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::ServiceExt;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_mcc-bench");
const BUCKET: &str = "bench-results";

fn python() -> PathBuf {
    let py = std::env::var_os("MCC_BENCH_PY").expect(
        "MCC_BENCH_PY must name the python of scripts/python-env (run the tests with scripts/test)",
    );
    PathBuf::from(py)
}

/// A child process killed on drop, with the URL it printed.
struct Service {
    child: Child,
    url: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn start_moto() -> Service {
    let port = free_port();
    let moto = python().with_file_name("moto_server");
    let child = Command::new(moto)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts (installed by scripts/python-env)");
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while http("GET", &url, "/moto-api/", "").is_none() {
        assert!(Instant::now() < deadline, "moto did not answer within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let made = Command::new(python())
        .args(["-c", &format!(
            "import boto3; boto3.client('s3', endpoint_url='{url}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing').create_bucket(Bucket='{BUCKET}')"
        )])
        .status()
        .expect("boto3");
    assert!(made.success(), "bucket created");
    Service { child, url }
}

fn start_emulator(s3: &str) -> Service {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/emulator/sagemaker_emulator.py");
    let mut child = Command::new(python())
        .arg(script)
        .args([BIN, s3, "qwen-ep"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("emulator starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("emulator address");
    let url = line.trim().rsplit(' ').next().expect("url").to_owned();
    Service { child, url }
}

/// A raw HTTP/1.0 request; the body of the reply, or None if unreachable.
fn http(method: &str, base: &str, path: &str, body: &str) -> Option<String> {
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}

fn control(emulator: &Service, settings: Value) {
    http("POST", &emulator.url, "/_control", &settings.to_string()).expect("control");
}

fn emulator_state(emulator: &Service) -> Value {
    let body = http("GET", &emulator.url, "/_calls", "").expect("state");
    serde_json::from_str(&body).expect("json")
}

struct World {
    _moto: Service,
    emulator: Service,
    home: tempfile::TempDir,
    project: tempfile::TempDir,
}

fn world() -> World {
    let moto = start_moto();
    let emulator = start_emulator(&moto.url);
    let home = tempfile::tempdir().expect("home");
    let profile = home.path().join(".ml-container-creator");
    std::fs::create_dir_all(&profile).expect("mkdir");
    std::fs::write(
        profile.join("config.json"),
        json!({"benchmarkS3Bucket": BUCKET, "roleArn": "arn:aws:iam::123456789012:role/bench"})
            .to_string(),
    )
    .expect("profile");
    let project = tempfile::tempdir().expect("project");
    std::fs::create_dir_all(project.path().join("do/ic")).expect("mkdir");
    std::fs::write(
        project.path().join("do/config"),
        "#!/bin/bash\nexport PROJECT_NAME=\"qwen-test\"\nexport ENDPOINT_NAME=\"qwen-ep\"\n\
         export MODEL_NAME=\"s3://models/Qwen/Qwen3-0.6B/\"\nexport HF_MODEL_ID=\"Qwen/Qwen3-0.6B\"\n\
         export AWS_REGION=\"us-east-1\"\n",
    )
    .expect("config");
    std::fs::write(
        project.path().join("do/ic/main.conf"),
        "IC_DEPLOYED_NAME='qwen-ic-main'\n",
    )
    .expect("ic");
    World {
        _moto: moto,
        emulator,
        home,
        project,
    }
}

async fn connect(w: &World) -> RunningService<RoleClient, ()> {
    let (home, sm, s3) = (
        w.home.path().to_owned(),
        w.emulator.url.clone(),
        w._moto.url.clone(),
    );
    let transport = TokioChildProcess::new(tokio::process::Command::new(BIN).configure(|cmd| {
        cmd.arg("serve")
            .env("HOME", &home)
            .env("MCC_BENCH_HOME", home.join("state"))
            .env("AWS_ENDPOINT_URL_SAGEMAKER", &sm)
            .env("AWS_ENDPOINT_URL_S3", &s3)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("MCC_BENCH_POLL_MAX_S", "0.3")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL");
    }))
    .expect("server starts");
    ().serve(transport).await.expect("initialize")
}

async fn call(c: &RunningService<RoleClient, ()>, tool: &str, args: Value) -> CallToolResult {
    let params = CallToolRequestParams::new(tool.to_owned())
        .with_arguments(args.as_object().cloned().unwrap_or_default());
    c.call_tool(params).await.expect("tool call")
}

fn content(r: &CallToolResult) -> Value {
    assert_ne!(r.is_error, Some(true), "{r:?}");
    r.structured_content.clone().expect("structured")
}

async fn start(c: &RunningService<RoleClient, ()>, w: &World, overrides: Value) -> String {
    let r = call(c, "start_benchmark", json!({
        "workload": "sample", "project_dir": w.project.path(), "overrides": overrides, "force": true}))
    .await;
    content(&r)["run_id"].as_str().expect("run id").to_owned()
}

async fn wait_done(c: &RunningService<RoleClient, ()>, run_id: &str) -> Value {
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
        if !["queued", "running", "collecting"].contains(&s["status"].as_str().unwrap_or("")) {
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
    let id = start(&c, &w, json!({"request_count": 4})).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let created = |w: &World| {
        emulator_state(&w.emulator)["calls"]
            .as_array()
            .expect("calls")
            .iter()
            .filter(|c| *c == "CreateAIBenchmarkJob")
            .count()
    };
    while created(&w) < 5 {
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
    assert!(format!("{:?}", r.content).contains("not an ml-container-creator project"));
    c.cancel().await.expect("close");
}

/// The runner pid recorded for `run_id` in the state file.
fn runner_pid(w: &World, run_id: &str) -> Option<i32> {
    let text = std::fs::read_to_string(w.home.path().join("state/state.json")).ok()?;
    let doc: Value = serde_json::from_str(&text).ok()?;
    doc["runs"]
        .as_array()?
        .iter()
        .find(|r| r["run_id"] == run_id)?["runner_pid"]
        .as_i64()
        .and_then(|p| i32::try_from(p).ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_runner_is_replaced_and_resumes_without_creating_again() {
    let w = world();
    control(&w.emulator, json!({"job_delay_seconds": 4}));
    let c = connect(&w).await;
    let id = start(&c, &w, json!({"request_count": 4})).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while emulator_state(&w.emulator)["jobs"]
        .as_object()
        .map_or(0, |j| j.len())
        < 1
    {
        assert!(Instant::now() < deadline, "job never created");
        std::thread::sleep(Duration::from_millis(100));
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
