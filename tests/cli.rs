//! The `mcc-bench` binary as users and other tools call it.

mod bin;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use bin::BIN;

/// The home every command of this file runs with (its results history
/// goes there, never into the user's).
fn test_home() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("mcc-bench-cli-tests-{}", std::process::id()))
}

fn mcc(args: &[&str]) -> Output {
    Command::new(BIN)
        .env("MCC_BENCH_HOME", test_home())
        .args(args)
        .env_remove("MCC_BENCH_CATALOG")
        .output()
        .expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `mcc-bench sim --port 0` as a child process, with the URL it printed.
struct SimProcess {
    child: Child,
    url: String,
}

impl SimProcess {
    fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .env("MCC_BENCH_HOME", test_home())
            .args(["sim", "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("sim starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("sim prints its URL");
        let url = line.trim().rsplit(' ').next().expect("url").to_owned();
        assert!(url.starts_with("http://127.0.0.1:"), "{line}");
        Self { child, url }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_shape_other_tools_rely_on_writes_the_aiperf_export() {
    // Requests of ~60 ms: the validity verdict the table shows is then not
    // at the mercy of the client's reaction time on a machine running the
    // other tests (with 6 ms requests, 1 ms of it is 15% of the
    // concurrency).
    let sim = SimProcess::start(&["--ttft-ms", "40", "--itl-ms", "5"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let o = mcc(&[
        "run",
        "--endpoint",
        &sim.url,
        "--model",
        "M",
        "--concurrency",
        "2",
        "--request-count",
        "6",
        "--input-tokens",
        "20",
        "--output-tokens",
        "5",
        "--streaming",
        "--output-dir",
        out.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let export: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("profile_export_aiperf.json")).expect("export"),
    )
    .expect("json");
    assert_eq!(export["request_count"]["avg"], 6.0);
    assert_eq!(export["output_sequence_length"]["avg"], 5.0);
    assert_eq!(export["input_config"]["endpoint"]["model_names"][0], "M");
    let table = stdout(&o);
    assert!(
        table.contains("TTFT") && table.contains("c2") && table.contains("valid"),
        "{table}"
    );
}

#[test]
fn json_output_against_the_builtin_simulator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = mcc(&[
        "run",
        "-w",
        "sample",
        "-e",
        "sim",
        "-n",
        "8",
        "--sim-ttft-ms",
        "1",
        "--sim-itl-ms",
        "0.2",
        "--json",
        "-o",
        dir.path().to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value =
        serde_json::from_str(&stdout(&o)).expect("stdout is one JSON document");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["model"], "mcc-bench-sim");
    assert_eq!(r["levels"][0]["metrics"]["request_count"], 8);
    assert_eq!(r["levels"][0]["level"]["concurrency"], 2);
    assert!(r["levels"][0]["validity"]["client_bound"].is_boolean());
    assert!(dir.path().join("results.json").is_file());
}

#[test]
fn unknown_workload_names_the_closest_match_and_exits_1() {
    let o = mcc(&["run", "-w", "rag-documnet-qa", "-e", "sim"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("unknown workload") && e.contains("rag_document_qa"),
        "{e}"
    );
}

#[test]
fn every_request_failing_exits_3() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/v1", l.local_addr().expect("addr"));
    drop(l);
    let dir = tempfile::tempdir().expect("tempdir");
    let o = mcc(&[
        "run",
        "-e",
        &url,
        "-m",
        "m",
        "-n",
        "3",
        "-c",
        "1",
        "-o",
        dir.path().to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("every request failed"));
    assert!(stdout(&o).contains("connection_refused"));
}

#[test]
fn bad_flags_are_usage_errors() {
    let o = mcc(&["run", "-e", "sim", "--concurrency", "many"]);
    assert_eq!(o.status.code(), Some(2));
    let o = mcc(&["run", "-e", "sim", "--request-rate=-2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("between"), "{}", stderr(&o));
}

#[test]
fn workloads_lists_the_catalog_with_numbers() {
    let o = mcc(&["workloads", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let list = v["workloads"].as_array().expect("list");
    assert_eq!(list.len(), 7);
    let chat = list
        .iter()
        .find(|w| w["name"] == "multi_turn_chat")
        .expect("chat");
    assert_eq!(
        (
            chat["concurrency"].as_u64(),
            chat["input_tokens_mean"].as_u64()
        ),
        (Some(10), Some(550))
    );
    let table = stdout(&mcc(&["workloads"]));
    assert!(
        table.contains("shared_system_prompt") && table.contains("8192"),
        "{table}"
    );
}

#[test]
fn an_unreadable_user_catalog_warns_and_the_builtin_serves() {
    let o = Command::new(BIN)
        .env("MCC_BENCH_HOME", test_home())
        .args(["workloads", "--json"])
        .env("MCC_BENCH_CATALOG", "/nonexistent/catalog.json")
        .output()
        .expect("runs");
    assert!(o.status.success());
    assert!(
        stderr(&o).contains("warning: cannot read user catalog"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).contains("multi_turn_chat"));
}

#[test]
fn ctrl_c_stops_and_writes_partial_results_with_exit_130() {
    let dir = tempfile::tempdir().expect("tempdir");
    let child = Command::new(BIN)
        .env("MCC_BENCH_HOME", test_home())
        .args([
            "run",
            "-e",
            "sim",
            "-c",
            "2",
            "-n",
            "100000",
            "--sim-ttft-ms",
            "5",
            "--sim-itl-ms",
            "5",
        ])
        .args([
            "--output-tokens",
            "20",
            "--grace-period",
            "2",
            "-o",
            dir.path().to_str().expect("utf8"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    std::thread::sleep(Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let started = Instant::now();
    let o = child.wait_with_output().expect("exits");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(stderr(&o).contains("interrupted"));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("results.json")).expect("results"))
            .expect("json");
    assert_eq!(r["status"], "cancelled");
    assert!(
        r["levels"][0]["metrics"]["request_count"]
            .as_u64()
            .expect("count")
            > 0
    );
}

#[test]
fn help_documents_the_exit_codes_and_run_flags() {
    let o = mcc(&["run", "--help"]);
    let h = stdout(&o);
    for flag in [
        "--workload",
        "--endpoint",
        "--concurrency",
        "--request-rate",
        "--duration",
        "--json",
        "--seed",
    ] {
        assert!(h.contains(flag), "{flag}");
    }
}

/// AIPerf's flag names work as aliases: a user's `aiperf profile` command
/// line runs here with the same meaning.
#[test]
fn aiperf_flag_names_are_accepted_with_their_meaning() {
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("artifacts");
    let o = mcc(&[
        "run",
        "-u",
        "sim",
        "--endpoint-type",
        "chat",
        "--concurrency",
        "2",
        "--request-count",
        "6",
        "--warmup-request-count",
        "2",
        "--isl",
        "32",
        "--osl",
        "8",
        "--random-seed",
        "7",
        "--extra-inputs",
        "ignore_eos:true",
        "--use-server-token-count",
        "--artifact-dir",
        out.to_str().expect("utf-8"),
        "--json",
        "--no-progress",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let spec = &r["spec"];
    assert_eq!(spec["prompts"]["input_tokens_mean"], 32, "{spec}");
    assert_eq!(spec["prompts"]["output_tokens_mean"], 8, "{spec}");
    assert_eq!(spec["warmup_requests"], 2, "{spec}");
    assert_eq!(spec["seed"], 7, "{spec}");
    assert_eq!(spec["token_count"], "server", "{spec}");
    assert_eq!(spec["endpoint"]["extra_body"]["ignore_eos"], true, "{spec}");
    assert!(out.join("profile_export_aiperf.json").is_file());
    assert_eq!(r["levels"][0]["metrics"]["request_count"], 6);
    let help = stdout(&mcc(&["run", "--help"]));
    for alias in [
        "--url",
        "--isl",
        "--osl",
        "--benchmark-duration",
        "--artifact-dir",
    ] {
        assert!(help.contains(alias), "{alias} in run --help");
    }
}

/// Shell completions generate for the common shells; -v / -q are accepted
/// everywhere.
#[test]
fn completions_generate_and_verbosity_flags_parse() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = mcc(&["completions", shell]);
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        assert!(
            script.contains("mcc-bench") && script.contains("capacity") && script.len() > 1_000,
            "{shell} script names the binary and its commands"
        );
    }
    assert!(!mcc(&["completions", "tcsh"]).status.success());
    let quiet = mcc(&["-q", "workloads", "--json"]);
    assert!(
        quiet.status.success() && quiet.stderr.is_empty(),
        "{}",
        stderr(&quiet)
    );
    assert!(mcc(&["workloads", "-vv", "--json"]).status.success());
}

/// `mcc-bench clean` removes finished runs from the history the MCP tools
/// share, and says what it kept.
#[test]
fn clean_removes_finished_runs_from_the_shell() {
    let home = tempfile::tempdir().expect("home");
    let out = home.path().join("out");
    let with_home = |args: &[&str]| {
        Command::new(BIN)
            .env("MCC_BENCH_HOME", home.path())
            .args(args)
            .output()
            .expect("binary runs")
    };
    let o = with_home(&[
        "run",
        "-e",
        "sim",
        "-c",
        "1",
        "-n",
        "2",
        "--no-progress",
        "-o",
        out.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        with_home(&["clean"]).status.code(),
        Some(2),
        "say what to clean"
    );
    let o = with_home(&["clean", "--finished", "--delete-files", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    assert_eq!(r["removed"].as_array().map(Vec::len), Some(1), "{r}");
    assert!(
        r["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("not a run directory of this home")),
        "a directory outside the home is kept: {r}"
    );
    assert!(out.join("results.json").is_file());
    let o = with_home(&["clean", "no-such-run"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no-such-run"), "{}", stderr(&o));
}

#[test]
fn a_malformed_dataset_is_named_by_line_and_field_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("chat.jsonl");
    std::fs::write(
        &path,
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n{\"messages\":[{\"role\":\"user\"}]}\n",
    )
    .expect("write");
    let o = mcc(&[
        "run",
        "-e",
        "sim",
        "--dataset",
        path.to_str().expect("utf8"),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("line 2") && e.contains("messages[0]"), "{e}");
    let o = mcc(&["run", "-e", "sim", "--trace-speedup", "2", "-n", "1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("need a dataset file"), "{}", stderr(&o));
}
