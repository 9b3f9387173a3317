//! Runs that outlive their starter: the shared state file and detached
//! runner processes.

mod bin;
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use mcc_bench::domain::{RunRecord, RunState};
use mcc_bench::jobs::{JobError, Jobs};
use mcc_bench::storage::StateFile;

use bin::BIN;

fn jobs(home: &Path) -> Jobs {
    Jobs::new(home, Path::new(BIN))
}

fn sim_spec(id: &str, requests: u64) -> mcc_bench::domain::RunSpec {
    let mut s = common::spec("sim", 2, requests, 16, 8);
    s.run_id = id.to_owned();
    s
}

fn wait_for(jobs: &Jobs, id: &str, done: impl Fn(&RunRecord) -> bool) -> RunRecord {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = jobs.get(id).expect("record");
        if done(&r) || Instant::now() > deadline {
            return r;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_run_executes_in_a_detached_runner_and_records_its_results() {
    let home = tempfile::tempdir().expect("home");
    let j = jobs(home.path());
    let started = j
        .start(sim_spec("run-a", 12), Some("first".into()), None)
        .expect("start");
    assert!(started.runner_pid.is_some());
    assert_eq!(started.label.as_deref(), Some("first"));
    let done = wait_for(&j, "run-a", |r| !r.status.is_active());
    assert_eq!(done.status, RunState::Completed, "{:?}", done.failure);
    let dir = Path::new(&done.run_dir);
    for f in [
        "profile_export_aiperf.json",
        "profile_export.jsonl",
        "results.json",
        "run_spec.json",
        "progress.json",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let progress: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("progress.json")).expect("progress"))
            .expect("json");
    assert_eq!(progress["completed"], 12);
    assert!(done.started_at.is_some() && done.finished_at.is_some());
}

#[test]
fn a_killed_runner_leaves_an_interrupted_run_after_reconcile() {
    let home = tempfile::tempdir().expect("home");
    let j = jobs(home.path());
    let mut spec = sim_spec("run-k", 100_000);
    spec.prompts.output_tokens_mean = 50;
    let r = j.start(spec, None, None).expect("start");
    let running = wait_for(&j, "run-k", |r| r.status == RunState::Running);
    assert_eq!(running.status, RunState::Running);
    std::thread::sleep(Duration::from_millis(300));
    let pid = r.runner_pid.expect("pid").to_string();
    assert!(std::process::Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .expect("kill")
        .success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut changed = Vec::new();
    while changed.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        changed = j.reconcile().expect("reconcile");
    }
    assert_eq!(changed, ["run-k"]);
    let after = j.get("run-k").expect("record");
    assert_eq!(after.status, RunState::Interrupted);
    assert!(after
        .failure
        .as_deref()
        .is_some_and(|f| f.contains("partial")));
    assert!(
        Path::new(&after.run_dir).join("progress.json").is_file(),
        "partial progress kept"
    );
    assert!(
        j.reconcile().expect("again").is_empty(),
        "reconcile is idempotent"
    );
}

#[test]
fn cancel_stops_the_runner_and_keeps_partial_results() {
    let home = tempfile::tempdir().expect("home");
    let j = jobs(home.path());
    let mut spec = sim_spec("run-c", 100_000);
    spec.grace_period_s = 2.0;
    j.start(spec, None, None).expect("start");
    wait_for(&j, "run-c", |r| r.status == RunState::Running);
    std::thread::sleep(Duration::from_millis(500));
    j.cancel("run-c").expect("cancel");
    let done = wait_for(&j, "run-c", |r| !r.status.is_active());
    assert_eq!(done.status, RunState::Cancelled);
    let results: serde_json::Value = serde_json::from_slice(
        &std::fs::read(Path::new(&done.run_dir).join("results.json")).expect("results"),
    )
    .expect("json");
    assert_eq!(results["status"], "cancelled");
    assert!(
        results["levels"][0]["metrics"]["request_count"]
            .as_u64()
            .expect("n")
            > 0
    );
}

#[test]
fn unknown_run_ids_are_named_in_the_error() {
    let home = tempfile::tempdir().expect("home");
    let e = jobs(home.path()).get("nope").expect_err("unknown");
    assert!(matches!(&e, JobError::UnknownRun(id) if id == "nope"));
    assert!(e.to_string().contains("list_benchmarks"));
}

#[test]
fn concurrent_writers_never_lose_a_record() {
    let home = tempfile::tempdir().expect("home");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let home = home.path().to_path_buf();
            std::thread::spawn(move || {
                // Each writer opens its own lock file handle, as separate
                // processes do.
                let state = StateFile::in_home(&home);
                for i in 0..25 {
                    let id = format!("t{t}-{i}");
                    state
                        .update(|doc| doc.runs.push(record(&id)))
                        .expect("update");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer");
    }
    let doc = StateFile::in_home(home.path()).read().expect("read");
    assert_eq!(doc.runs.len(), 200);
}

#[test]
fn a_corrupt_or_newer_state_file_is_reported_and_left_untouched() {
    let home = tempfile::tempdir().expect("home");
    let state = StateFile::in_home(home.path());
    std::fs::write(state.path(), b"{\"schema_version\": 1, \"runs\": [garbage").expect("write");
    let e = state.update(|doc| doc.runs.clear()).expect_err("corrupt");
    assert!(
        e.to_string().contains("not valid JSON") && e.to_string().contains("left untouched"),
        "{e}"
    );
    assert_eq!(
        std::fs::read(state.path()).expect("read"),
        b"{\"schema_version\": 1, \"runs\": [garbage"
    );
    std::fs::write(state.path(), b"{\"schema_version\": 99, \"runs\": []}").expect("write");
    let e = state.read().expect_err("newer");
    assert!(e.to_string().contains("newer mcc-bench"), "{e}");
}

fn record(id: &str) -> RunRecord {
    RunRecord {
        run_id: id.to_owned(),
        label: None,
        workload: None,
        engine: mcc_bench::domain::Engine::Local,
        started_by: mcc_bench::domain::Starter::Runner,
        runner_started: None,
        target: "sim".into(),
        status: RunState::Queued,
        created_at: String::new(),
        started_at: None,
        finished_at: None,
        runner_pid: None,
        run_dir: String::new(),
        failure: None,
        spec: sim_spec(id, 1),
        engine_refs: None,
        context: None,
        respawns: 0,
        respawned_at: None,
    }
}

/// A process whose command line merely contains "runner" and the run id
/// (a recycled pid) is not taken for the run's runner.
#[test]
fn a_lookalike_process_is_not_the_runner() {
    let home = tempfile::tempdir().expect("home");
    let j = jobs(home.path());
    let mut r = record("look-alike");
    r.status = RunState::Running;
    r.run_dir = home.path().join("runs/look-alike").display().to_string();
    let mut impostor = std::process::Command::new("sh")
        .args([
            "-c",
            "sleep 30; true",
            "mcc-bench runner look-alike",
            "runner",
            "look-alike",
        ])
        .spawn()
        .expect("sh");
    r.runner_pid = Some(impostor.id());
    j.state().update(|doc| doc.runs.push(r)).expect("record");
    j.reconcile().expect("reconcile");
    let after = j.get("look-alike").expect("record");
    let _ = impostor.kill();
    let _ = impostor.wait();
    assert_eq!(after.status, RunState::Interrupted, "{after:?}");
}

/// A relative home is recorded as an absolute path: the runner and a later
/// `clean` must not depend on the starter's working directory.
#[test]
fn a_relative_home_is_recorded_absolute() {
    let base = tempfile::tempdir().expect("base");
    let cwd = std::env::current_dir().expect("cwd");
    let rel = pathdiff(base.path(), &cwd);
    let j = jobs(&rel.join("home"));
    assert!(j.home().is_absolute(), "{}", j.home().display());
    let started = j.start(sim_spec("rel-run", 2), None, None).expect("start");
    assert!(
        Path::new(&started.run_dir).is_absolute(),
        "{}",
        started.run_dir
    );
    wait_for(&j, "rel-run", |r| !r.status.is_active());
}

/// `to` relative to `from` (both absolute), with `..` as needed.
fn pathdiff(to: &Path, from: &Path) -> std::path::PathBuf {
    let common = to
        .components()
        .zip(from.components())
        .take_while(|(a, b)| a == b)
        .count();
    let ups = from.components().count() - common;
    let mut out = std::path::PathBuf::new();
    for _ in 0..ups {
        out.push("..");
    }
    out.extend(to.components().skip(common));
    out
}
