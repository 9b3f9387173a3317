//! Hardening: each test performs an attack a hostile MCP client or endpoint
//! could make against `mcc-bench serve`, and checks that nothing leaks,
//! nothing outside the home is read or written, and the server stays up.
//! Hostile endpoints are `tests/hostile/endpoint.py` (Python's standard
//! library, on 127.0.0.1).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod bin;
mod mcp_client;
use mcp_client::{call, connect, connect_with, error_text, ok, wait_done, Client};

/// A hostile endpoint, killed when dropped.
struct Hostile {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Hostile {
    fn start(mode: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("requests.log");
        let mut child = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile/endpoint.py"))
            .arg(mode)
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
            &mut line,
        )
        .expect("port");
        let port = line.trim().parse().expect("a port");
        Self {
            child,
            port,
            log,
            _dir: dir,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `dir`, as one text.
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push_str(&String::from_utf8_lossy(
                    &std::fs::read(&p).unwrap_or_default(),
                ));
            }
        }
    }
    out
}

/// Starts a run and waits for its end; returns its id.
async fn run_to_end(c: &Client, args: Value) -> String {
    let started = call(c, "start_benchmark", args).await;
    let id = ok(&started)["run_id"].as_str().expect("id").to_owned();
    wait_done(c, &id).await;
    id
}

/// The server still answers a cheap call promptly.
async fn responsive(c: &Client) {
    let t0 = Instant::now();
    let r = call(c, "list_workloads", json!({})).await;
    ok(&r);
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
}

fn small(url: &str) -> Value {
    json!({"endpoint": {"url": url},
           "overrides": {"request_count": 3, "concurrency": 1, "input_tokens": 8, "output_tokens": 4}})
}

const SERVER_KEY: &str = "sk-server-secret-000111";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_key_goes_only_to_allowed_endpoints_and_never_into_results() {
    let echo = Hostile::start("echo");
    let home = tempfile::tempdir().expect("home");
    let env = [("OPENAI_API_KEY", SERVER_KEY)];
    // No allowance: the key is not sent, and naming it is refused.
    let c = connect_with(home.path(), &[], &env).await;
    run_to_end(&c, small(&echo.url())).await;
    assert!(
        echo.requests().iter().all(|r| r["authorization"].is_null()),
        "the key reached an endpoint nobody allowed"
    );
    let mut named = small(&echo.url());
    named["endpoint"]["api_key_env"] = json!("OPENAI_API_KEY");
    let refused = error_text(&call(&c, "start_benchmark", named).await);
    assert!(refused.contains("--endpoint-allow"), "{refused}");
    let mut other = small(&echo.url());
    other["endpoint"]["api_key_env"] = json!("HOME");
    error_text(&call(&c, "start_benchmark", other).await);
    c.cancel().await.expect("close");

    // Allowed: the key is sent, and what the endpoint echoed is scrubbed.
    let c = connect_with(home.path(), &["--endpoint-allow", &echo.url()], &env).await;
    let id = run_to_end(&c, small(&echo.url())).await;
    let sent = echo.requests();
    assert!(
        sent.iter()
            .any(|r| r["authorization"] == format!("Bearer {SERVER_KEY}")),
        "{sent:?}"
    );
    let fetched = call(&c, "fetch_results", json!({"run_id": id, "detail": "full"})).await;
    let shown = serde_json::to_string(&fetched).expect("json");
    assert!(
        shown.contains("bad request, you sent"),
        "the echo is kept: {shown}"
    );
    assert!(
        !shown.contains(SERVER_KEY),
        "fetch_results returned the key"
    );
    assert!(
        !all_text(home.path()).contains(SERVER_KEY),
        "the key reached a file"
    );
    c.cancel().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_results_takes_run_ids_never_paths() {
    let home = tempfile::tempdir().expect("home");
    let outside = tempfile::tempdir().expect("outside");
    // A results file outside the home whose run id climbs out of it.
    let evil = json!({"run_id": "../../../../tmp/pwned", "levels": []});
    std::fs::write(outside.path().join("results.json"), evil.to_string()).expect("write");
    let fifo = outside.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo")
        .success());
    for flags in [&[][..], &["--read-only"][..]] {
        let c = connect(home.path(), flags).await;
        for target in [
            "/etc/passwd".to_owned(),
            "/dev/zero".to_owned(),
            fifo.display().to_string(),
            outside.path().display().to_string(),
            outside.path().join("results.json").display().to_string(),
        ] {
            let t0 = Instant::now();
            let r = call(&c, "compare_results", json!({"run_ids": [target, "x"]})).await;
            let text = error_text(&r);
            assert!(text.contains("no run with id"), "{target}: {text}");
            assert!(!text.contains("root:"), "{target}: {text}");
            assert!(t0.elapsed() < Duration::from_secs(5), "{target} blocked");
        }
        responsive(&c).await;
        c.cancel().await.expect("close");
    }
    assert!(!Path::new("/tmp/pwned").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_are_bounded_in_memory_time_and_size_and_the_server_survives() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(
        home.path(),
        &["--query-timeout", "3", "--query-memory-mib", "256"],
    )
    .await;
    // One string grown past the engine's length limit (a quarter of the
    // query's memory), then a sort of many distinct values past the memory
    // itself.
    let long = format!(
        "{RANGE_200K} SELECT length(group_concat(replace(hex(zeroblob(50000)), '0', 'x'), ',')) \
         AS n FROM r"
    );
    let t0 = Instant::now();
    let text = error_text(&call(&c, "query_results", json!({"sql": long})).await);
    assert!(text.contains("64 MiB limit on one string"), "{text}");
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    let bomb = format!(
        "{RANGE_200K} SELECT count(DISTINCT replace(hex(zeroblob(2000)), '0', 'x') || n) AS n FROM r"
    );
    let t0 = Instant::now();
    let text = error_text(&call(&c, "query_results", json!({"sql": bomb})).await);
    // Stopped by the memory cap, or by the timeout on a slow machine.
    assert!(
        text.contains("more than its 256 MiB of memory") || text.contains("statement timeout"),
        "{text}"
    );
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    responsive(&c).await;
    let endless = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) \
                   SELECT count(*) FROM r";
    let t0 = Instant::now();
    let text = error_text(&call(&c, "query_results", json!({"sql": endless})).await);
    assert!(text.contains("statement timeout"), "{text}");
    assert!(t0.elapsed() < Duration::from_secs(6), "{:?}", t0.elapsed());
    assert!(no_query_workers(), "a stopped query keeps running");
    let wide = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 100) \
                SELECT replace(hex(zeroblob(500000)), '0', 'y') AS s FROM r";
    let r = call(&c, "query_results", json!({"sql": wide, "limit": 100})).await;
    let rows = ok(&r);
    assert_eq!(rows["truncated"], true, "answers are capped in bytes");
    assert!(rows["row_count"].as_u64() < Some(100));
    for (sql, refused) in [
        ("SELECT load_extension('/tmp/x.so')", "load_extension"),
        ("SELECT fts3_tokenizer('simple')", "fts3_tokenizer"),
    ] {
        let text = error_text(&call(&c, "query_results", json!({"sql": sql})).await);
        assert!(
            text.contains("only queries") && text.contains(refused),
            "{sql}: {text}"
        );
    }
    let huge_sql = format!("SELECT 1 {}", " ".repeat(100_000));
    error_text(&call(&c, "query_results", json!({"sql": huge_sql})).await);
    responsive(&c).await;
    c.cancel().await.expect("close");
}

/// Rows 1..=200,000 as `r(n)`, in the embedded engine's SQL.
const RANGE_200K: &str =
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 200000)";

/// True once no query worker process is left (bounded wait).
fn no_query_workers() -> bool {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let running = std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .any(|c| c.split(|b| *b == 0).any(|a| a == b"query-worker"));
        if !running {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stage_model_stays_inside_allowed_folders_buckets_and_images() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    for (args, expect) in [
        (
            json!({"model_id": "o/m", "local_dir": "/etc"}),
            "--allow-dir",
        ),
        (
            json!({"model_id": "o/m", "local_dir": "../../../../"}),
            "--allow-dir",
        ),
        (
            json!({"model_id": "o/m", "project_dir": "/"}),
            "--allow-dir",
        ),
        (
            json!({"model_id": "o/m", "mode": "processing_job", "image": "evil/img"}),
            "image",
        ),
    ] {
        let text = error_text(&call(&c, "stage_model", args.clone()).await);
        assert!(text.contains(expect), "{args}: {text}");
    }
    let project = tempfile::tempdir().expect("project");
    std::fs::create_dir_all(project.path().join("model")).expect("mkdir");
    std::fs::write(project.path().join("model/config.json"), "{}").expect("config");
    let c2 = connect(
        home.path(),
        &["--allow-dir", project.path().to_str().expect("utf-8")],
    )
    .await;
    let args = json!({"model_id": "o/m", "local_dir": project.path().join("model"), "bucket": "someone-elses"});
    let text = error_text(&call(&c2, "stage_model", args).await);
    assert!(text.contains("--allow-bucket"), "{text}");
    c.cancel().await.expect("close");
    c2.cancel().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_beyond_their_limits_are_refused_before_any_runner_starts() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &["--max-active-runs", "1"]).await;
    for (o, expect) in [
        (json!({"concurrency": 1_000_000_000u64}), "concurrency"),
        (json!({"input_tokens": 1_000_000_000u64}), "input tokens"),
        (json!({"duration_s": 1e20}), "duration"),
        (json!({"request_rate": 1e-300}), "request rate"),
        (json!({"request_count": 10_000_000_000u64}), "request count"),
        (json!({"request_timeout_s": 1e12}), "request timeout"),
        (
            json!({"concurrency_levels": (1..100).collect::<Vec<u32>>()}),
            "levels",
        ),
    ] {
        let args = json!({"endpoint": {"url": "sim"}, "overrides": o});
        let text = error_text(&call(&c, "start_benchmark", args).await);
        assert!(
            text.contains(expect) && text.contains("limit") || text.contains("between"),
            "{o}: {text}"
        );
    }
    let label = "x".repeat(500);
    let args = json!({"endpoint": {"url": "sim"}, "label": label});
    assert!(error_text(&call(&c, "start_benchmark", args).await).contains("label"));
    // One active run at most: a second start is refused, not queued.
    let long =
        json!({"endpoint": {"url": "sim"}, "overrides": {"duration_s": 20, "concurrency": 1}});
    let first = ok(&call(&c, "start_benchmark", long.clone()).await)["run_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let mut again = long;
    again["force"] = json!(true);
    let text = error_text(&call(&c, "start_benchmark", again).await);
    assert!(text.contains("runs are active"), "{text}");
    ok(&call(&c, "cancel_benchmark", json!({"run_id": first})).await);
    wait_done(&c, &first).await;
    c.cancel().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_streams_and_bodies_from_an_endpoint_are_cut() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let endless = Hostile::start("endless");
    let id = ok(&call(&c, "start_benchmark", small(&endless.url())).await)["run_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let status = wait_done(&c, &id).await;
    assert_eq!(status["status"], "failed", "{status}");
    let r = call(&c, "fetch_results", json!({"run_id": id})).await;
    let shown = serde_json::to_string(&r).expect("json");
    assert!(shown.contains("does not stop at max_tokens"), "{shown}");
    let huge = Hostile::start("huge-models");
    let id = ok(&call(&c, "start_benchmark", small(&huge.url())).await)["run_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let status = wait_done(&c, &id).await;
    assert_eq!(status["status"], "failed", "{status}");
    assert!(status.to_string().contains("larger than"), "{status}");
    c.cancel().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_run_whose_runner_never_started_fails_and_is_not_reused() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    run_to_end(&c, small("sim")).await;
    c.cancel().await.expect("close");
    // A crash between recording a run and starting its runner, long ago.
    let path = home.path().join("state.json");
    let mut doc: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("state")).expect("json");
    let mut orphan = doc["runs"][0].clone();
    orphan["run_id"] = json!("custom-orphan");
    orphan["status"] = json!("queued");
    orphan["created_at"] = json!("2026-01-01T00:00:00Z");
    orphan["runner_pid"] = Value::Null;
    doc["runs"].as_array_mut().expect("runs").push(orphan);
    std::fs::write(&path, doc.to_string()).expect("state");
    let c = connect(home.path(), &[]).await;
    let listed = ok(&call(&c, "list_benchmarks", json!({})).await).clone();
    assert_eq!(listed["runs"][0]["run_id"], "custom-orphan");
    assert_eq!(listed["runs"][0]["status"], "failed", "{listed}");
    let r = call(&c, "start_benchmark", small("sim")).await;
    assert_eq!(ok(&r)["reused"], false);
    c.cancel().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_server_writes_nothing_and_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let id = run_to_end(&c, small("sim")).await;
    let state = home.path().join("state.json");
    let before = std::fs::metadata(&state)
        .expect("state")
        .modified()
        .expect("mtime");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = std::fs::metadata(&state)
        .expect("state")
        .modified()
        .expect("mtime");
    assert_eq!(
        before, after,
        "reconciling an idle home rewrote the state file"
    );
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o600);
    assert_eq!(mode(&home.path().join("runs").join(&id)), 0o700);
    assert_eq!(
        mode(&home.path().join("runs").join(&id).join("results.json")),
        0o600
    );
    let log = std::fs::read(home.path().join("runs").join(&id).join("runner.log")).expect("log");
    assert!(!log.contains(&0x1b), "colour codes in a log file");
    c.cancel().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_never_follow_links_and_the_catalog_server_shows_no_runs() {
    use rmcp::model::ReadResourceRequestParams;
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let id = run_to_end(&c, small("sim")).await;
    let report = home.path().join("runs").join(&id).join("report.html");
    std::fs::remove_file(&report).expect("rm");
    std::os::unix::fs::symlink("/etc/passwd", &report).expect("plant");
    let uri = format!("mcc-bench://runs/{id}/report.html");
    let read = c
        .read_resource(ReadResourceRequestParams::new(uri.clone()))
        .await;
    assert!(
        format!("{read:?}").contains("error") || read.is_err(),
        "a planted link was followed: {read:?}"
    );
    assert!(!format!("{read:?}").contains("root:"));
    c.cancel().await.expect("close");
    let catalog = connect(home.path(), &["--toolset", "catalog"]).await;
    let listed = catalog.list_all_resources().await.expect("resources");
    assert_eq!(listed.len(), 1, "{listed:?}");
    let status = format!("mcc-bench://runs/{id}/status");
    assert!(catalog
        .read_resource(ReadResourceRequestParams::new(status))
        .await
        .is_err());
    catalog.cancel().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_force_stops_the_runner_before_removing_its_files() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let long =
        json!({"endpoint": {"url": "sim"}, "overrides": {"duration_s": 30, "concurrency": 2}});
    let id = ok(&call(&c, "start_benchmark", long).await)["run_id"]
        .as_str()
        .expect("id")
        .to_owned();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let args = json!({"run_id": id, "force": true, "delete_local_artifacts": true});
    ok(&call(&c, "clean", args).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !home.path().join("runs").join(&id).exists(),
        "a runner brought its directory back"
    );
    c.cancel().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_comparisons_each_write_their_report() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut args = small("sim");
        args["force"] = json!(true);
        let id = ok(&call(&c, "start_benchmark", args).await)["run_id"]
            .as_str()
            .expect("id")
            .to_owned();
        wait_done(&c, &id).await;
        ids.push(id);
    }
    let args = json!({"run_ids": ids});
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let peer = c.peer().clone();
            let params = rmcp::model::CallToolRequestParams::new("compare_results")
                .with_arguments(args.as_object().cloned().unwrap_or_default());
            tokio::spawn(async move { peer.call_tool(params).await })
        })
        .collect();
    for t in tasks {
        let r = t.await.expect("task").expect("answered");
        let out = ok(&r);
        assert!(out["report"].is_string(), "{out}");
    }
    c.cancel().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_endpoint_url_header_or_ca_is_refused_before_any_run() {
    let home = tempfile::tempdir().expect("home");
    let c = connect(home.path(), &[]).await;
    for endpoint in [
        json!({"url": "file:///etc/passwd"}),
        json!({"url": "ftp://127.0.0.1:9/v1"}),
        json!({"url": "http://127.0.0.1:9/v1", "headers": {"x-a": "v\r\nx-injected: 1"}}),
        json!({"url": "http://127.0.0.1:9/v1", "headers": {"bad name": "v"}}),
        json!({"url": "https://127.0.0.1:9/v1", "ca_cert": "not a certificate"}),
    ] {
        let text = error_text(&call(&c, "start_benchmark", json!({"endpoint": endpoint})).await);
        assert!(
            text.contains("start_benchmark failed"),
            "{endpoint}: {text}"
        );
    }
    let listed = ok(&call(&c, "list_benchmarks", json!({})).await).clone();
    assert_eq!(listed["runs"], json!([]), "no run was recorded");
    c.cancel().await.expect("close");
}
