//! The local engine against HTTP servers and proxies we did not write
//! (`tests/interop`): Python's `http.server`, FastAPI on uvicorn (h11 and
//! httptools) and on hypercorn, aiohttp, Node's `http`, nginx terminating
//! TLS with a private CA, and tinyproxy as a forward proxy, each started by
//! `scripts/interop-env` on 127.0.0.1. Every run must end with zero errors,
//! and the server's own request log must agree with what we counted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod bin;
mod mcp_client;

use bin::BIN;

/// Proxy variables a run must not inherit from whoever runs the tests.
const PROXY_VARS: [&str; 8] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

fn interop_env() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/interop-env")
}

/// A server started by `scripts/interop-env`, stopped when dropped.
struct Server {
    info: Value,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(kind: &str, settings: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("requests.log");
        let out = Command::new(interop_env())
            .arg("start")
            .arg(kind)
            .arg(&log)
            .args(settings)
            .output()
            .expect("scripts/interop-env runs");
        assert!(
            out.status.success(),
            "{kind} did not start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let info = serde_json::from_slice(&out.stdout).expect("one JSON line");
        Self { info, _dir: dir }
    }

    fn url(&self) -> &str {
        self.info["url"].as_str().expect("url")
    }

    fn port(&self) -> u64 {
        self.info["port"].as_u64().expect("port")
    }

    fn file(&self, key: &str) -> PathBuf {
        PathBuf::from(self.info[key].as_str().expect(key))
    }

    /// The request log, one JSON object per request.
    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(self.file("log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Generation requests logged so far (the server logs a request when
    /// its response ends, so this waits, bounded, for `at_least`).
    fn generations(&self, at_least: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let g: Vec<Value> = self
                .requests()
                .into_iter()
                .filter(|r| matches!(r["route"].as_str(), Some("chat" | "completions")))
                .collect();
            if g.len() >= at_least || Instant::now() > deadline {
                return g;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pid = self.info["pid"].to_string();
        let _ = Command::new(interop_env()).args(["stop", &pid]).output();
    }
}

/// One `mcc-bench run --json` with `env` (and no inherited proxy settings).
struct Run {
    out: Output,
    dir: tempfile::TempDir,
}

impl Run {
    fn new(args: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cmd = Command::new(BIN);
        for v in PROXY_VARS {
            cmd.env_remove(v);
        }
        let out = cmd
            .env("MCC_BENCH_HOME", dir.path().join("home"))
            .envs(env.iter().copied())
            .args(["run", "--json", "--no-progress", "--seed", "7"])
            .args(["--input-tokens", "24", "--output-tokens", "6"])
            .arg("-o")
            .arg(dir.path().join("out"))
            .args(args)
            .output()
            .expect("mcc-bench runs");
        Self { out, dir }
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    /// The result of a run that must have sent `n` requests without error.
    fn clean(&self, n: u64) -> Value {
        assert!(self.out.status.success(), "run failed: {}", self.stderr());
        let r: Value = serde_json::from_slice(&self.out.stdout).expect("JSON result");
        let m = &r["levels"][0]["metrics"];
        assert_eq!(
            m["error_request_count"], 0,
            "errors: {}",
            r["levels"][0]["errors"]
        );
        assert_eq!(m["request_count"], n, "{m}");
        r
    }

    /// Every file the run wrote, as text.
    fn written(&self) -> String {
        let mut all = String::new();
        for entry in walk(self.dir.path()) {
            all.push_str(&String::from_utf8_lossy(
                &std::fs::read(entry).unwrap_or_default(),
            ));
        }
        all
    }

    fn jsonl(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("out/profile_export.jsonl"))
            .expect("JSONL written")
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Streaming and not, chat and completions, on keep-alive connections and
/// on a server that closes after every response.
fn matrix(kind: &str) {
    const N: u64 = 12;
    for close in [false, true] {
        let server = Server::start(kind, if close { &["INTEROP_CLOSE=1"] } else { &[] });
        let endpoint = format!("{}/v1", server.url());
        let mut seen = 0;
        for (api, stream) in [
            ("chat", "--streaming"),
            ("chat", "--no-streaming"),
            ("completions", "--streaming"),
            ("completions", "--no-streaming"),
        ] {
            let cell = format!("{kind} {api} {stream} close={close}");
            let run = Run::new(
                &["-e", &endpoint, "--api", api, stream, "-c", "3", "-n", "12"],
                &[],
            );
            run.clean(N);
            let logged = server.generations(seen + N as usize);
            let ours = &logged[seen..];
            assert_eq!(ours.len() as u64, N, "{cell}: server log disagrees");
            assert!(
                ours.iter().all(|r| r["status"] == 200 && r["route"] == api),
                "{cell}"
            );
            assert!(
                ours.iter()
                    .all(|r| r["target"].as_str().is_some_and(|t| t.starts_with('/'))),
                "{cell}: origin-form targets only"
            );
            let peers: HashSet<&str> = ours.iter().filter_map(|r| r["peer"].as_str()).collect();
            if close {
                assert_eq!(peers.len() as u64, N, "{cell}: one connection per request");
            } else {
                assert!(
                    peers.len() <= 3,
                    "{cell}: connections reused, got {}",
                    peers.len()
                );
            }
            seen += N as usize;
        }
    }
}

#[test]
fn python_http_server_with_strict_routing() {
    matrix("stdlib");
}

#[test]
fn uvicorn_h11() {
    matrix("uvicorn-h11");
}

#[test]
fn uvicorn_httptools() {
    matrix("uvicorn-httptools");
}

#[test]
fn hypercorn() {
    matrix("hypercorn");
}

#[test]
fn aiohttp() {
    matrix("aiohttp");
}

#[test]
fn node_http() {
    matrix("node");
}

#[test]
fn sse_without_the_space_with_crlf_and_chunked_whole_bodies() {
    for (setting, stream) in [
        ("INTEROP_SSE_STYLE=nospace", "--streaming"),
        ("INTEROP_SSE_STYLE=crlf", "--streaming"),
        ("INTEROP_CHUNKED=1", "--no-streaming"),
    ] {
        let server = Server::start("aiohttp", &[setting]);
        let endpoint = format!("{}/v1", server.url());
        let r = Run::new(&["-e", &endpoint, stream, "-c", "2", "-n", "8"], &[]).clean(8);
        let osl = &r["levels"][0]["metrics"]["output_sequence_length"];
        assert_eq!(osl["avg"], 6.0, "{setting}: {osl}");
    }
}

#[test]
fn idle_connections_the_server_closes_are_reopened_without_errors() {
    // The servers close a keep-alive connection after 40 ms idle; Poisson
    // arrivals at ~25/s put many sends right on that edge.
    for kind in ["stdlib", "aiohttp"] {
        let server = Server::start(kind, &["INTEROP_IDLE_CLOSE_MS=40", "INTEROP_TTFT_MS=1"]);
        let endpoint = format!("{}/v1", server.url());
        let args = [
            "-e",
            &endpoint,
            "-r",
            "25",
            "--max-concurrency",
            "1",
            "-n",
            "60",
        ];
        Run::new(&args, &[]).clean(60);
        let logged = server.generations(60);
        assert_eq!(
            logged.len(),
            60,
            "{kind}: every request reached the server once"
        );
        let peers: HashSet<&str> = logged.iter().filter_map(|r| r["peer"].as_str()).collect();
        assert!(
            peers.len() > 5,
            "{kind}: the server closed idle connections ({})",
            peers.len()
        );
    }
}

#[test]
fn path_prefix_query_string_and_gateway_header() {
    let secret = "s3cret-gateway-key-0042";
    let server = Server::start(
        "stdlib",
        &[
            "INTEROP_PREFIX=/openai/deployments/x",
            "INTEROP_REQUIRE_QUERY=api-version",
            &format!("INTEROP_REQUIRE_HEADER=api-key: {secret}"),
        ],
    );
    let endpoint = format!(
        "{}/openai/deployments/x/v1?api-version=2024-06-01",
        server.url()
    );
    let header = format!("api-key: {secret}");
    let run = Run::new(&["-e", &endpoint, "-H", &header, "-c", "2", "-n", "6"], &[]);
    let r = run.clean(6);
    assert_eq!(
        r["model"], "interop-model",
        "discovered through the prefix and query"
    );
    let logged = server.generations(6);
    assert!(
        logged
            .iter()
            .all(|l| l["query"] == "api-version=2024-06-01"),
        "{logged:?}"
    );
    assert!(
        !run.written().contains(secret),
        "a header value reached a file"
    );
    assert!(!run.stderr().contains(secret));
    // Without the header the gateway refuses, and the error says so.
    let bare = Run::new(&["-e", &endpoint, "-n", "2"], &[]);
    assert_eq!(bare.out.status.code(), Some(1));
    assert!(bare.stderr().contains("HTTP 401"), "{}", bare.stderr());
}

#[test]
fn tls_with_a_private_ca_and_insecure_only_when_asked() {
    let nginx = Server::start("nginx-tls", &[]);
    let endpoint = format!("{}/v1", nginx.url());
    let ca = nginx.file("ca");
    let ca = ca.to_str().expect("utf-8 path");
    Run::new(
        &["-e", &endpoint, "--ca-cert", ca, "-c", "2", "-n", "8"],
        &[],
    )
    .clean(8);
    Run::new(
        &[
            "-e",
            &endpoint,
            "--no-streaming",
            "--ca-cert",
            ca,
            "-n",
            "4",
        ],
        &[],
    )
    .clean(4);
    let untrusted = Run::new(&["-e", &endpoint, "-n", "2"], &[]);
    assert_eq!(
        untrusted.out.status.code(),
        Some(1),
        "{}",
        untrusted.stderr()
    );
    assert!(
        untrusted.stderr().contains("--ca-cert"),
        "{}",
        untrusted.stderr()
    );
    Run::new(&["-e", &endpoint, "--insecure", "-n", "4"], &[]).clean(4);
}

#[test]
fn proxies_from_the_environment() {
    let proxy = Server::start("connect-proxy", &[]);
    let proxy_url = format!("http://127.0.0.1:{}", proxy.port());
    // https: a CONNECT tunnel through the proxy.
    let nginx = Server::start("nginx-tls", &[]);
    let ca = nginx.file("ca");
    let ca = ca.to_str().expect("utf-8 path");
    let https = format!("{}/v1", nginx.url());
    let env = [("HTTPS_PROXY", proxy_url.as_str())];
    Run::new(&["-e", &https, "--ca-cert", ca, "-c", "2", "-n", "6"], &env).clean(6);
    let tunnel = format!("CONNECT 127.0.0.1:{}", nginx.port());
    // Plain http: absolute-form requests to the proxy.
    let plain = Server::start("stdlib", &[]);
    let http = format!("{}/v1", plain.url());
    let env = [("http_proxy", proxy_url.as_str())];
    Run::new(&["-e", &http, "-c", "2", "-n", "6"], &env).clean(6);
    let forwarded = format!("POST http://127.0.0.1:{}/v1/chat/completions", plain.port());
    let proxy_log = wait_for(&proxy.file("log"), &[&tunnel, &forwarded]);
    assert!(proxy_log.contains(&tunnel), "{proxy_log}");
    assert!(proxy_log.contains(&forwarded), "{proxy_log}");
    // NO_PROXY wins: a dead proxy is never tried for the listed host.
    let env = [
        ("HTTP_PROXY", "http://127.0.0.1:9"),
        ("NO_PROXY", "127.0.0.1"),
    ];
    Run::new(&["-e", &http, "-n", "3"], &env).clean(3);
}

/// The file's text once it holds every needle (bounded wait).
fn wait_for(path: &Path, needles: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if needles.iter().all(|n| text.contains(n)) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn tool_call_and_reasoning_streams_are_successful_requests() {
    let server = Server::start(
        "uvicorn-httptools",
        &["INTEROP_TTFT_MS=5", "INTEROP_ITL_MS=3"],
    );
    let endpoint = format!("{}/v1", server.url());
    let tools = Run::new(
        &["-e", &endpoint, "-m", "tool_calls", "-c", "2", "-n", "6"],
        &[],
    );
    tools.clean(6);
    for rec in tools.jsonl() {
        let m = &rec["metrics"];
        assert_eq!(
            m["time_to_first_token"]["value"],
            m["time_to_first_output_token"]["value"]
        );
        assert!(m["output_token_count"]["value"].as_u64() > Some(0), "{m}");
    }
    let reasoning = Run::new(
        &["-e", &endpoint, "-m", "reasoning", "-c", "2", "-n", "6"],
        &[],
    );
    let r = reasoning.clean(6);
    let metrics = &r["levels"][0]["metrics"];
    let ttft = metrics["time_to_first_token"]["p50"]
        .as_f64()
        .expect("ttft");
    let ttfo = metrics["time_to_first_output_token"]["p50"]
        .as_f64()
        .expect("ttfo");
    // Three reasoning tokens come first, 3 ms apart.
    assert!(ttfo > ttft + 5.0, "ttft {ttft} ttfo {ttfo}");
    assert!(
        metrics["reasoning_token_count"]["avg"].as_f64() > Some(0.0),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_endpoint_headers_reach_the_endpoint_and_no_file() {
    let secret = "mcp-gateway-key-7781";
    let server = Server::start(
        "aiohttp",
        &[&format!("INTEROP_REQUIRE_HEADER=api-key: {secret}")],
    );
    let home = tempfile::tempdir().expect("home");
    let client = mcp_client::connect(home.path(), &[]).await;
    let args = json!({"endpoint": {"url": format!("{}/v1", server.url()), "headers": {"api-key": secret}},
                      "overrides": {"request_count": 5, "concurrency": 1, "input_tokens": 16, "output_tokens": 4}});
    let started = mcp_client::call(&client, "start_benchmark", args).await;
    let run_id = mcp_client::ok(&started)["run_id"]
        .as_str()
        .expect("run id")
        .to_owned();
    let status = mcp_client::wait_done(&client, &run_id).await;
    assert_eq!(status["status"], "completed", "{status}");
    assert_eq!(server.generations(5).len(), 5);
    let mut files = String::new();
    for f in walk(home.path()) {
        files.push_str(&String::from_utf8_lossy(
            &std::fs::read(f).unwrap_or_default(),
        ));
    }
    assert!(files.contains(&run_id), "the home holds the run");
    assert!(
        !files.contains(secret),
        "a header value reached a file under the home"
    );
    client.cancel().await.expect("close");
}

/// NVIDIA AIPerf (scripts/aiperf-env, passed in MCC_BENCH_AIPERF_PY) reads
/// our run: every JSONL line validates as its `MetricRecordInfo`, and
/// `aiperf plot` renders the run (a sweep: one directory per level) with
/// Chromium (MCC_BENCH_CHROMIUM). The model discovered from `/models` is in
/// both exports.
#[test]
fn aiperf_reads_and_plots_our_exports() {
    let py = std::env::var_os("MCC_BENCH_AIPERF_PY").expect(
        "MCC_BENCH_AIPERF_PY must name the python of scripts/aiperf-env (run the tests with scripts/test)",
    );
    let chromium = std::env::var_os("MCC_BENCH_CHROMIUM")
        .expect("MCC_BENCH_CHROMIUM must name a chromium binary (scripts/browser-env)");
    let server = Server::start("uvicorn-httptools", &[]);
    let endpoint = format!("{}/v1", server.url());
    let run = Run::new(
        &["-e", &endpoint, "-m", "reasoning", "-c", "1,2", "-n", "10"],
        &[],
    );
    assert!(run.out.status.success(), "{}", run.stderr());
    let out = run.dir.path().join("out");
    let export: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("c2/profile_export_aiperf.json")).expect("export"),
    )
    .expect("JSON");
    assert_eq!(
        export["input_config"]["models"]["items"][0]["name"],
        "reasoning"
    );
    let discovered = Run::new(&["-e", &endpoint, "-n", "3"], &[]);
    assert_eq!(
        discovered.jsonl()[0]["metadata"]["model_name"],
        "interop-model"
    );
    let plots = run.dir.path().join("plots");
    let check = Command::new(py)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aiperf/check_exports.py"))
        .arg(&out)
        .arg(&plots)
        .env("HOME", run.dir.path())
        .env("BROWSER_PATH", chromium)
        .env("HF_HUB_OFFLINE", "1")
        .output()
        .expect("python runs");
    let report: Value = serde_json::from_slice(&check.stdout)
        .unwrap_or_else(|_| panic!("checker failed: {}", String::from_utf8_lossy(&check.stderr)));
    assert_eq!(report["lines"], 20, "{report}");
    assert_eq!(report["invalid_count"], 0, "{report}");
    let pngs = report["pngs"].as_array().expect("pngs");
    assert!(!pngs.is_empty(), "aiperf plot rendered nothing: {report}");
}

/// Multi-turn sessions and tool calls as an independent server logs them:
/// each turn carries the history with the server's earlier replies
/// verbatim, tools and a response format are sent, and a tool call is
/// answered by a `tool` message naming the call's id.
#[test]
fn sessions_and_tool_results_reach_an_independent_server_verbatim() {
    let server = Server::start(
        "uvicorn-h11",
        &[
            "INTEROP_TTFT_MS=2",
            "INTEROP_ITL_MS=1",
            "INTEROP_LOG_BODY=1",
            "INTEROP_DISTINCT=1",
        ],
    );
    let endpoint = format!("{}/v1", server.url());
    let chat = Run::new(
        &["-e", &endpoint, "--turns", "3", "-c", "2", "-n", "6"],
        &[],
    );
    chat.clean(6);
    let logged = server.generations(6);
    let replies: HashMap<String, &str> = logged
        .iter()
        .map(|r| {
            (
                r["messages"].to_string(),
                r["reply"].as_str().expect("reply"),
            )
        })
        .collect();
    let mut by_length = BTreeMap::new();
    for r in &logged {
        let messages = r["messages"].as_array().expect("messages");
        *by_length.entry(messages.len()).or_insert(0) += 1;
        if messages.len() < 3 {
            continue;
        }
        let before = Value::Array(messages[..messages.len() - 2].to_vec()).to_string();
        let reply = replies.get(&before).expect("the earlier turn was logged");
        let sent = &messages[messages.len() - 2];
        assert_eq!(sent["role"], "assistant");
        assert_eq!(
            sent["content"].as_str(),
            Some(*reply),
            "the reply, verbatim"
        );
        assert_eq!(messages[messages.len() - 1]["role"], "user");
    }
    // Two lanes draw tickets turn by turn: a lane that finishes its session
    // first may start another, so only the shapes are fixed.
    assert_eq!(by_length.values().sum::<i32>(), 6);
    assert!(
        by_length.keys().all(|n| [1, 3, 5].contains(n)),
        "{by_length:?}"
    );
    assert!(by_length.contains_key(&5), "a third turn: {by_length:?}");

    // Lognormal lengths as the server counts them (words of the prompt):
    // mean 24, stddev 24 (the run's seed fixes the draws).
    let before = server.generations(0).len();
    let mix = Run::new(
        &[
            "-e",
            &endpoint,
            "--length-distribution",
            "lognormal",
            "--isl-stddev",
            "24",
            "-c",
            "4",
            "-n",
            "300",
        ],
        &[],
    );
    mix.clean(300);
    let counts: Vec<f64> = server.generations(before + 300)[before..]
        .iter()
        .map(|r| {
            let text = r["messages"][0]["content"].as_str().expect("content");
            text.split_whitespace().count() as f64
        })
        .collect();
    let n = counts.len() as f64;
    let mean = counts.iter().sum::<f64>() / n;
    let sd = (counts.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
    assert!((mean / 24.0 - 1.0).abs() < 0.1, "mean {mean}");
    assert!((sd / 24.0 - 1.0).abs() < 0.3, "stddev {sd}");

    for streaming in ["--streaming", "--no-streaming"] {
        let before = server.generations(0).len();
        let tools = Run::new(
            &[
                "-e",
                &endpoint,
                "--tools",
                "--structured-output",
                "--turns",
                "2",
                "-c",
                "1",
                "-n",
                "2",
                streaming,
            ],
            &[],
        );
        tools.clean(2);
        let logged = server.generations(before + 2);
        let (first, second) = (&logged[before], &logged[before + 1]);
        let names = first["tool_names"].as_array().expect("tools").len();
        assert_eq!(names, 4, "{streaming}: {}", first["tool_names"]);
        assert_eq!(first["tool_choice"], "auto");
        assert_eq!(first["response_format_type"], "json_schema");
        let call = &first["call"];
        let messages = second["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), 3, "{streaming}: {}", second["messages"]);
        let sent = &messages[1]["tool_calls"][0];
        assert_eq!(sent["id"], call["id"], "{streaming}");
        assert_eq!(sent["function"]["name"], call["name"]);
        assert_eq!(sent["function"]["arguments"], call["arguments"], "verbatim");
        assert_eq!(messages[2]["role"], "tool");
        assert_eq!(messages[2]["tool_call_id"], call["id"]);
        assert!(second["call"].is_null(), "a tool result gets a text answer");
    }
}

/// A mooncake trace as an independent server receives it: requests naming
/// the same hash id carry the same block text (a shared prefix the server's
/// cache can use), lengths as the trace says, and arrivals on the trace's
/// timeline at its speedup.
#[test]
fn a_trace_reaches_an_independent_server_with_shared_blocks_on_its_timeline() {
    let server = Server::start(
        "uvicorn-h11",
        &[
            "INTEROP_TTFT_MS=1",
            "INTEROP_ITL_MS=0",
            "INTEROP_LOG_BODY=1",
        ],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let trace = dir.path().join("trace.jsonl");
    let lines: String = (0..12)
        .map(|i| {
            let second = if i % 2 == 0 { 8 } else { 100 + i };
            format!(
                "{}\n",
                json!({"timestamp": 500 + i * 40, "input_length": 600, "output_length": 2,
                       "hash_ids": [7, second]})
            )
        })
        .collect();
    std::fs::write(&trace, lines).expect("trace");
    let endpoint = format!("{}/v1", server.url());
    let run = Run::new(
        &[
            "-e",
            &endpoint,
            "--dataset",
            trace.to_str().expect("utf8"),
            "--trace-speedup",
            "2",
        ],
        &[],
    );
    run.clean(12);
    let logged = server.generations(12);
    let words: Vec<Vec<String>> = logged
        .iter()
        .map(|r| {
            let content = r["messages"][0]["content"].as_str().expect("content");
            content.split_whitespace().map(str::to_owned).collect()
        })
        .collect();
    for (i, w) in words.iter().enumerate() {
        assert_eq!(w.len(), 600, "request {i}: input_length words");
        assert_eq!(w[..512], words[0][..512], "request {i}: hash id 7's block");
        let same_second = i % 2 == 0;
        assert_eq!(
            w[512..] == words[0][512..],
            same_second,
            "request {i}: second block"
        );
    }
    let recv: Vec<f64> = logged
        .iter()
        .map(|r| r["recv_mono_ns"].as_f64().expect("recv"))
        .collect();
    // 40 ms apart in the trace, 20 ms at speedup 2, as the server saw them.
    // The spacing is the least-squares slope of arrival against index, so
    // one arrival delayed by the machine (tests run side by side on two
    // cores) moves it by a fraction of a millisecond; a wrong speedup moves
    // it by 20 ms or 40 ms.
    let (slope, residuals) = fit_line(&recv);
    assert!(
        (18.5..=21.5).contains(&slope),
        "arrivals {slope:.2} ms apart, not 20 (arrival offsets from the fit, ms: {residuals:?})"
    );
    assert!(
        residuals.iter().all(|r| r.abs() < 25.0),
        "arrival offsets from the timeline (ms): {residuals:?}"
    );
}

/// Least-squares line through (k, t_k / 1e6): its slope in ms per step and
/// each point's offset from it in ms.
fn fit_line(ns: &[f64]) -> (f64, Vec<f64>) {
    let n = ns.len() as f64;
    let ms: Vec<f64> = ns.iter().map(|t| (t - ns[0]) / 1e6).collect();
    let mean_k = (n - 1.0) / 2.0;
    let mean_t = ms.iter().sum::<f64>() / n;
    let (mut cov, mut var) = (0.0, 0.0);
    for (k, t) in ms.iter().enumerate() {
        cov += (k as f64 - mean_k) * (t - mean_t);
        var += (k as f64 - mean_k).powi(2);
    }
    let slope = cov / var;
    let residuals = ms
        .iter()
        .enumerate()
        .map(|(k, t)| t - mean_t - slope * (k as f64 - mean_k))
        .collect();
    (slope, residuals)
}
